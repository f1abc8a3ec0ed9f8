import { stringifyDocument } from '@urql/core';
import { useEffect, useRef, useState } from 'react';
import { createSubscriptionClient } from '../../client.ts';
import { ConversationEventsSubscription, type ConversationEvent } from './operations.ts';

export type FeedStatus = 'connecting' | 'live' | 'reconnecting' | 'ended';

const QUERY = stringifyDocument(ConversationEventsSubscription);
const MAX_BACKOFF_MS = 15_000;

/**
 * The live events of one conversation. When the connection drops it reconnects (backing off, and at
 * once when the browser comes back online) with the cursor of the last event it delivered, so the
 * server replays what was missed, such as the end of a reply that finished meanwhile.
 */
export function useConversationFeed(conversationId: string, cursor: () => string | null, onEvents: (events: ConversationEvent[]) => void): FeedStatus {
  const [status, setStatus] = useState<FeedStatus>('connecting');
  const handler = useRef(onEvents);
  handler.current = onEvents;
  const lastCursor = useRef(cursor);
  lastCursor.current = cursor;

  useEffect(() => {
    const client = createSubscriptionClient();
    let stopped = false;
    let dispose: (() => void) | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    let buffer: ConversationEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const events = buffer;
      buffer = [];
      if (events.length) handler.current(events);
    };
    const connect = () => {
      clearTimeout(timer);
      if (stopped) return;
      dispose?.();
      dispose = client.subscribe<{ conversationEvents: ConversationEvent }>(
        { query: QUERY, variables: { conversationId, after: lastCursor.current() } },
        {
          next: (result) => {
            failures = 0;
            setStatus('live');
            const event = result.data?.conversationEvents;
            if (event) {
              buffer.push(event);
              // Deltas arrive faster than frames: render at most once per frame.
              frame ||= requestAnimationFrame(flush);
            }
            if (result.errors?.length) retry(result.errors[0]?.extensions?.code === 'UNAUTHENTICATED');
          },
          error: () => retry(false),
          complete: () => { if (!stopped) retry(false); },
        },
      );
      setStatus((current) => (current === 'live' ? 'live' : current));
    };
    const retry = (final: boolean) => {
      if (stopped) return;
      flush();
      if (final) {
        setStatus('ended');
        return;
      }
      setStatus('reconnecting');
      failures += 1;
      const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
      clearTimeout(timer);
      timer = setTimeout(connect, wait);
    };
    const online = () => { if (!stopped) connect(); };
    window.addEventListener('online', online);
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      cancelAnimationFrame(frame);
      window.removeEventListener('online', online);
      dispose?.();
      client.dispose();
    };
  }, [conversationId]);
  return status;
}
