import { useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { Link, useLocation } from 'wouter';
import { ErrorText } from '../../components/error-text.tsx';
import {
  ArchiveConversationMutation, ConversationsQuery, DeleteConversationMutation, RenameConversationMutation, SearchConversationsQuery,
  StartConversationMutation, UnarchiveConversationMutation, type ChatConversation,
} from './operations.ts';

const CONTEXT = { additionalTypenames: ['Conversation'] };

export function ConversationList({ currentId }: { currentId: string | null }) {
  const { t } = useTranslation('chat');
  const [, navigate] = useLocation();
  const [archived, setArchived] = useState(false);
  const [search, setSearch] = useState('');
  const searchId = useId();
  const query = search.trim();
  const [list] = useQuery({ query: ConversationsQuery, variables: { archived }, pause: query.length > 0, context: useMemo(() => CONTEXT, []), requestPolicy: 'cache-and-network' });
  const [found] = useQuery({ query: SearchConversationsQuery, variables: { query, archived }, pause: query.length === 0, requestPolicy: 'cache-and-network' });
  const [started, start] = useMutation(StartConversationMutation);
  const conversations: ChatConversation[] = query
    ? (found.data?.searchConversations.edges ?? []).map((edge) => edge.node.conversation)
    : (list.data?.conversations.edges ?? []).map((edge) => edge.node);
  // Newest first: the most recently active conversation on top.
  const sorted = [...conversations].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));

  const startNew = async () => {
    const result = await start({ input: {} });
    if (result.data) navigate(`/c/${result.data.startConversation.id}`);
  };

  return (
    <aside className="sidebar" aria-label={t('conversations')}>
      <button type="button" onClick={() => void startNew()} disabled={started.fetching}>{t('newConversation')}</button>
      <ErrorText error={started.error} />
      <div className="field">
        <label htmlFor={searchId}>{t('searchTitles')}</label>
        <input id={searchId} type="search" value={search} maxLength={200} onChange={(event) => setSearch(event.target.value)} />
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={archived} onChange={(event) => setArchived(event.target.checked)} />
        {t('showArchived')}
      </label>
      <ErrorText error={query ? found.error : list.error} />
      {sorted.length === 0 && !(query ? found.fetching : list.fetching) && <p className="muted">{query ? t('noMatches') : t('noConversations')}</p>}
      <ul className="conversation-list">
        {sorted.map((conversation) => <ConversationItem key={conversation.id} conversation={conversation} current={conversation.id === currentId} />)}
      </ul>
    </aside>
  );
}

function ConversationItem({ conversation, current }: { conversation: ChatConversation; current: boolean }) {
  const { t } = useTranslation('chat');
  const [, navigate] = useLocation();
  const [renaming, setRenaming] = useState(false);
  const [rename, doRename] = useMutation(RenameConversationMutation);
  const [archive, doArchive] = useMutation(ArchiveConversationMutation);
  const [unarchive, doUnarchive] = useMutation(UnarchiveConversationMutation);
  const [removal, doDelete] = useMutation(DeleteConversationMutation);
  const title = conversation.title || t('untitled');
  const inputId = useId();

  const submitRename = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('title') ?? '');
    const result = await doRename({ id: conversation.id, title: value });
    if (result.data) setRenaming(false);
  };
  const remove = async () => {
    if (!window.confirm(t('confirmDelete', { title }))) return;
    const result = await doDelete({ id: conversation.id }, CONTEXT);
    if (result.data && current) navigate('/');
  };

  return (
    <li className={current ? 'current' : undefined}>
      {renaming ? (
        <form onSubmit={(event) => void submitRename(event)} className="rename">
          <label htmlFor={inputId} className="visually-hidden">{t('newTitle')}</label>
          <input id={inputId} name="title" defaultValue={conversation.title ?? ''} maxLength={200} required autoFocus
            onKeyDown={(event) => { if (event.key === 'Escape') setRenaming(false); }} />
          <button type="submit" disabled={rename.fetching}>{t('save')}</button>
        </form>
      ) : (
        <Link href={`/c/${conversation.id}`} aria-current={current ? 'page' : undefined} className="conversation-link">{title}</Link>
      )}
      <div className="item-actions">
        <button type="button" className="ghost small" onClick={() => setRenaming(!renaming)} aria-label={t('renameNamed', { title })}>{t('rename')}</button>
        {conversation.archived
          ? <button type="button" className="ghost small" onClick={() => void doUnarchive({ id: conversation.id }, CONTEXT)} disabled={unarchive.fetching} aria-label={t('unarchiveNamed', { title })}>{t('unarchive')}</button>
          : <button type="button" className="ghost small" onClick={() => void doArchive({ id: conversation.id }, CONTEXT)} disabled={archive.fetching} aria-label={t('archiveNamed', { title })}>{t('archive')}</button>}
        <button type="button" className="ghost small danger" onClick={() => void remove()} disabled={removal.fetching} aria-label={t('deleteNamed', { title })}>{t('delete')}</button>
      </div>
      <ErrorText error={rename.error ?? archive.error ?? unarchive.error ?? removal.error} />
    </li>
  );
}
