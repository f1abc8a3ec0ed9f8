import { useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { Link } from 'wouter';
import { ErrorText } from '../../components/error-text.tsx';
import { formatDate } from './format.ts';
import {
  AttachableConversationsQuery, SetConversationKnowledgeMutation, StartConversationMutation,
  type AttachableConversation, type DocumentItem, type KnowledgeBaseItem,
} from './operations.ts';

const NEW = '';

function toggle(set: ReadonlySet<string>, id: string, on: boolean): Set<string> {
  const next = new Set(set);
  if (on) next.add(id);
  else next.delete(id);
  return next;
}

/**
 * Chooses what a conversation's replies retrieve sources from: documents and knowledge bases,
 * for one of your conversations or a new one. setConversationKnowledge replaces the whole
 * selection, so picking a conversation shows what it uses now, to change from there.
 */
export function AttachPanel({ documents, bases }: { documents: DocumentItem[]; bases: KnowledgeBaseItem[] }) {
  const { t, i18n } = useTranslation('documents');
  const [{ data, error }] = useQuery({ query: AttachableConversationsQuery, requestPolicy: 'cache-and-network', context: useMemo(() => ({ additionalTypenames: ['Conversation'] }), []) });
  const [started, start] = useMutation(StartConversationMutation);
  const [stored, store] = useMutation(SetConversationKnowledgeMutation);
  const [conversationId, setConversationId] = useState(NEW);
  const [chosenDocuments, setChosenDocuments] = useState<ReadonlySet<string>>(new Set());
  const [chosenBases, setChosenBases] = useState<ReadonlySet<string>>(new Set());
  const [saved, setSaved] = useState<{ id: string; title: string | null } | null>(null);
  const selectId = useId();
  const conversations = useMemo(
    () => [...(data?.conversations.edges ?? []).map((edge) => edge.node)].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
    [data],
  );
  const titleOf = (conversation: Pick<AttachableConversation, 'title' | 'updatedAt'>) =>
    conversation.title || t('attach.untitled', { date: formatDate(conversation.updatedAt, i18n.language) });

  const pick = (id: string) => {
    const conversation = conversations.find((candidate) => candidate.id === id);
    setConversationId(id);
    setChosenDocuments(new Set(conversation?.documentIds ?? []));
    setChosenBases(new Set(conversation?.knowledgeBaseIds ?? []));
    setSaved(null);
  };

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setSaved(null);
    let id = conversationId;
    if (id === NEW) {
      const result = await start({});
      if (!result.data) return;
      id = result.data.startConversation.id;
    }
    // Only what is listed here: ids of documents deleted meanwhile would be refused.
    const known = new Set(documents.map((document) => document.id));
    const knownBases = new Set(bases.map((base) => base.id));
    const result = await store({
      conversationId: id,
      documentIds: [...chosenDocuments].filter((documentId) => known.has(documentId)),
      knowledgeBaseIds: [...chosenBases].filter((baseId) => knownBases.has(baseId)),
    });
    if (result.data) {
      setConversationId(id);
      setSaved({ id, title: result.data.setConversationKnowledge.title });
    }
  };

  const nothing = documents.length === 0 && bases.length === 0;
  return (
    <section aria-labelledby="attach-title" className="attach-panel">
      <h2 id="attach-title">{t('attach.title')}</h2>
      <p className="muted">{t('attach.intro')}</p>
      <ErrorText error={error} />
      {nothing ? <p className="muted">{t('attach.none')}</p> : (
        <form className="stack" onSubmit={(event) => void submit(event)}>
          <div className="field">
            <label htmlFor={selectId}>{t('attach.conversation')}</label>
            <select id={selectId} value={conversationId} onChange={(event) => pick(event.target.value)}>
              <option value={NEW}>{t('attach.newConversation')}</option>
              {conversations.map((conversation) => <option key={conversation.id} value={conversation.id}>{titleOf(conversation)}</option>)}
            </select>
          </div>
          <div className="attach-choices">
            {documents.length > 0 && (
              <fieldset>
                <legend>{t('attach.documents')}</legend>
                {documents.map((document) => (
                  <label key={document.id} className="checkbox">
                    <input type="checkbox" checked={chosenDocuments.has(document.id)}
                      onChange={(event) => { setChosenDocuments(toggle(chosenDocuments, document.id, event.target.checked)); setSaved(null); }} />
                    <span className="choice-name">{document.name ?? t('erased')}</span>
                  </label>
                ))}
              </fieldset>
            )}
            {bases.length > 0 && (
              <fieldset>
                <legend>{t('attach.knowledgeBases')}</legend>
                {bases.map((base) => (
                  <label key={base.id} className="checkbox">
                    <input type="checkbox" checked={chosenBases.has(base.id)}
                      onChange={(event) => { setChosenBases(toggle(chosenBases, base.id, event.target.checked)); setSaved(null); }} />
                    <span className="choice-name">{base.name ?? t('kb.unnamed')}</span>
                  </label>
                ))}
              </fieldset>
            )}
          </div>
          <ErrorText error={started.error ?? stored.error} />
          <div><button type="submit" disabled={started.fetching || stored.fetching}>{t('attach.save')}</button></div>
          {saved && (
            <p role="status" className="attach-saved">
              {t('attach.saved', { title: saved.title || t('attach.untitledShort') })}{' '}
              <Link href={`/c/${saved.id}`}>{t('attach.open')}</Link>
            </p>
          )}
        </form>
      )}
    </section>
  );
}
