import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClient, useMutation, useQuery } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { Composer } from './composer.tsx';
import { MessageView } from './message-view.tsx';
import { CancelReplyMutation, ConversationQuery, type ChatMessage, type ConversationEvent } from './operations.ts';
import { SettingsPanel } from './settings-panel.tsx';
import { applyEvents, emptyThread, withLoaded, withMessage, type ThreadState } from './thread-state.ts';
import { useConversationFeed } from './use-conversation-feed.ts';

type Action = { type: 'events'; events: ConversationEvent[] } | { type: 'loaded'; messages: ChatMessage[]; older: boolean } | { type: 'sent'; message: ChatMessage };

function reduce(state: ThreadState, action: Action): ThreadState {
  switch (action.type) {
    case 'events': return applyEvents(state, action.events);
    case 'loaded': return withLoaded(state, action.messages, action.older);
    case 'sent': return withMessage(state, action.message);
  }
}

const NEAR_BOTTOM_PX = 80;

export function Thread({ conversationId }: { conversationId: string }) {
  const { t } = useTranslation('chat');
  const client = useClient();
  const [{ data, error, fetching }, refetch] = useQuery({ query: ConversationQuery, variables: { id: conversationId }, requestPolicy: 'network-only' });
  const [state, dispatch] = useReducer(reduce, emptyThread);
  const [olderCursor, setOlderCursor] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [showSettings, setShowSettings] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const [cancelled, cancel] = useMutation(CancelReplyMutation);
  const stateRef = useRef(state);
  stateRef.current = state;

  // Older pages already loaded stay, with their cursor, when the latest page is reloaded (after a
  // send); a branch switch starts over from the new latest page.
  const olderLoaded = useRef(false);
  useEffect(() => {
    if (!data) return;
    const page = data.conversation.messages;
    const keepOlder = olderLoaded.current && !stateRef.current.stale;
    dispatch({ type: 'loaded', messages: page.edges.map((edge) => edge.node), older: false });
    if (keepOlder) return;
    olderLoaded.current = false;
    setOlderCursor(page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor ?? null : null);
  }, [data]);

  useEffect(() => {
    if (state.stale) refetch({ requestPolicy: 'network-only' });
  }, [state.stale, refetch]);

  const onEvents = useCallback((events: ConversationEvent[]) => {
    dispatch({ type: 'events', events });
    const ended = events.find((event) => event.kind === 'REPLY_COMPLETED' || event.kind === 'REPLY_FAILED' || event.kind === 'REPLY_CANCELLED' || event.kind === 'REPLY_INTERRUPTED');
    if (ended) setAnnouncement(t(`announce.${ended.kind}`));
  }, [t]);
  const feed = useConversationFeed(conversationId, () => stateRef.current.cursor, onEvents);

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const messages = state.messages;
  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 120,
    overscan: 6,
    getItemKey: (index) => messages[index]!.id,
  });

  const loadOlder = useCallback(async () => {
    if (!olderCursor || loadingOlder) return;
    setLoadingOlder(true);
    const result = await client.query(ConversationQuery, { id: conversationId, before: olderCursor }, { requestPolicy: 'network-only' }).toPromise();
    setLoadingOlder(false);
    const page = result.data?.conversation.messages;
    if (!page) return;
    dispatch({ type: 'loaded', messages: page.edges.map((edge) => edge.node), older: true });
    olderLoaded.current = true;
    setOlderCursor(page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor ?? null : null);
    // Keep the reader where they were (the messages they read moved down by the page's length),
    // unless they went back to the end meanwhile.
    if (!pinned.current) virtualizer.scrollToIndex(page.edges.length, { align: 'start' });
  }, [client, conversationId, olderCursor, loadingOlder, virtualizer]);

  // Follow the end while the reader is there; leave them be once they scroll up to read. Only a
  // move up unpins: scrolling to the end (ours, or the list growing as messages are measured) does not.
  const lastScrollTop = useRef(0);
  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const atEnd = element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;
    if (atEnd) pinned.current = true;
    else if (element.scrollTop < lastScrollTop.current - 2) pinned.current = false;
    lastScrollTop.current = element.scrollTop;
    if (!pinned.current && element.scrollTop < 200) void loadOlder();
  };
  const last = messages[messages.length - 1];
  useLayoutEffect(() => {
    if (pinned.current && messages.length > 0) virtualizer.scrollToIndex(messages.length - 1, { align: 'end' });
  }, [messages.length, last?.content, virtualizer]);

  if (error && !data) return <section className="thread"><ErrorText error={error} /></section>;
  if (!data) return <section className="thread"><p className="muted" role="status">{fetching ? t('loading') : ''}</p></section>;
  const conversation = data.conversation;
  const streaming = messages.find((m) => m.role === 'ASSISTANT' && m.status === 'STREAMING');

  return (
    <section className="thread" aria-labelledby="thread-title">
      <div className="thread-header">
        <h1 id="thread-title">{conversation.title || t('untitled')}</h1>
        <button type="button" className="ghost" aria-expanded={showSettings} aria-controls="conversation-settings" onClick={() => setShowSettings(!showSettings)}>
          {t('settings')}
        </button>
      </div>
      {showSettings && <SettingsPanel conversation={conversation} />}
      {state.deleted && <p className="notice" role="alert">{t('deleted')}</p>}
      {feed === 'reconnecting' && <p className="notice" role="status">{t('reconnecting')}</p>}
      {feed === 'ended' && <p className="notice" role="alert">{t('feedEnded')}</p>}
      <div className="messages" ref={scroller} onScroll={onScroll} tabIndex={0} role="log" aria-live="off" aria-label={t('messages')}
        data-testid="messages">
        {loadingOlder && <p className="muted" role="status">{t('loadingOlder')}</p>}
        {messages.length === 0 && <p className="muted empty-thread">{t('emptyThread')}</p>}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => (
            <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="message-row"
              style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}>
              <MessageView message={messages[item.index]!} />
            </div>
          ))}
        </div>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">{announcement}</p>
      {streaming && (
        <div className="streaming-bar">
          <span className="muted">{t('generating')}</span>
          <button type="button" className="danger" disabled={cancelled.fetching}
            onClick={() => void cancel({ conversationId, replyId: streaming.id })}>{t('cancel')}</button>
          <ErrorText error={cancelled.error} />
        </div>
      )}
      <Composer conversationId={conversationId} busy={Boolean(streaming)} onSent={(message) => { pinned.current = true; dispatch({ type: 'sent', message }); }} />
    </section>
  );
}
