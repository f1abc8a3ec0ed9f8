import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation } from 'urql';
import { Link } from 'wouter';
import { ErrorText } from '../../components/error-text.tsx';
import { DOCUMENT_CONTEXT } from './document-actions.tsx';
import {
  AddToKnowledgeBaseMutation, CreateKnowledgeBaseMutation, DeleteKnowledgeBaseMutation, RemoveFromKnowledgeBaseMutation, RenameKnowledgeBaseMutation,
  type DocumentItem, type KnowledgeBaseItem,
} from './operations.ts';
import type { Paged } from './use-paged.ts';

export function KnowledgeBases({ bases, documents, onChanged }: { bases: Paged<KnowledgeBaseItem>; documents: DocumentItem[]; onChanged(): void }) {
  const { t } = useTranslation('documents');
  return (
    <section aria-labelledby="kb-title" className="knowledge-bases">
      <h2 id="kb-title">{t('kb.title')}</h2>
      <p className="muted">{t('kb.intro')}</p>
      <CreateKnowledgeBase onCreated={onChanged} />
      <ErrorText error={bases.error} />
      {bases.loading ? <p className="muted" role="status">{t('loading')}</p>
        : bases.items.length === 0 ? <p className="muted">{t('kb.empty')}</p> : (
          <ul className="kb-list">
            {bases.items.map((base) => <KnowledgeBaseCard key={base.id} base={base} documents={documents} onChanged={onChanged} />)}
          </ul>
        )}
      {bases.hasMore && <button type="button" className="ghost" onClick={bases.loadMore}>{t('list.loadMore')}</button>}
    </section>
  );
}

function CreateKnowledgeBase({ onCreated }: { onCreated(): void }) {
  const { t } = useTranslation('documents');
  const [created, create] = useMutation(CreateKnowledgeBaseMutation);
  const [done, setDone] = useState<string | null>(null);
  const ids = { name: useId(), description: useId() };
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const name = String(data.get('name') ?? '').trim();
    const description = String(data.get('description') ?? '').trim();
    const result = await create({ name, description: description || null }, DOCUMENT_CONTEXT);
    if (result.data?.createKnowledgeBase) {
      form.reset();
      setDone(result.data.createKnowledgeBase.name ?? name);
      onCreated();
    }
  };
  return (
    <form className="stack kb-create" onSubmit={(event) => void submit(event)} aria-label={t('kb.create')}>
      <div className="row">
        <div className="field">
          <label htmlFor={ids.name}>{t('kb.name')}</label>
          <input id={ids.name} name="name" required maxLength={200} onInput={() => setDone(null)} />
        </div>
        <div className="field">
          <label htmlFor={ids.description}>{t('kb.description')}</label>
          <input id={ids.description} name="description" maxLength={2000} />
        </div>
      </div>
      <ErrorText error={created.error} />
      {done && <p role="status" className="muted">{t('kb.created', { name: done })}</p>}
      <div><button type="submit" disabled={created.fetching}>{t('kb.create')}</button></div>
    </form>
  );
}

function KnowledgeBaseCard({ base, documents, onChanged }: { base: KnowledgeBaseItem; documents: DocumentItem[]; onChanged(): void }) {
  const { t } = useTranslation('documents');
  const [renaming, setRenaming] = useState(false);
  const [renamed, rename] = useMutation(RenameKnowledgeBaseMutation);
  const [removal, remove] = useMutation(DeleteKnowledgeBaseMutation);
  const [added, add] = useMutation(AddToKnowledgeBaseMutation);
  const [taken, take] = useMutation(RemoveFromKnowledgeBaseMutation);
  const ids = { rename: useId(), add: useId() };
  const name = base.name ?? t('kb.unnamed');
  const inBase = new Set(base.documents.map((document) => document.id));
  const addable = documents.filter((document) => !inBase.has(document.id));

  const submitRename = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('name') ?? '').trim();
    const result = await rename({ id: base.id, name: value }, DOCUMENT_CONTEXT);
    if (result.data) {
      setRenaming(false);
      onChanged();
    }
  };
  const submitAdd = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const documentId = String(new FormData(event.currentTarget).get('documentId') ?? '');
    if (!documentId) return;
    const result = await add({ knowledgeBaseId: base.id, documentId }, DOCUMENT_CONTEXT);
    if (result.data) onChanged();
  };
  const removeBase = async () => {
    if (!window.confirm(t('kb.confirmDelete', { name }))) return;
    const result = await remove({ id: base.id }, DOCUMENT_CONTEXT);
    if (result.data) onChanged();
  };
  const takeOut = async (documentId: string) => {
    const result = await take({ knowledgeBaseId: base.id, documentId }, DOCUMENT_CONTEXT);
    if (result.data) onChanged();
  };

  return (
    <li className="kb-card">
      <div className="kb-head">
        {renaming ? (
          <form className="rename" onSubmit={(event) => void submitRename(event)}>
            <label htmlFor={ids.rename} className="visually-hidden">{t('kb.newName')}</label>
            <input id={ids.rename} name="name" defaultValue={base.name ?? ''} maxLength={200} required autoFocus
              onKeyDown={(event) => { if (event.key === 'Escape') setRenaming(false); }} />
            <button type="submit" className="small" disabled={renamed.fetching}>{t('list.save')}</button>
            <button type="button" className="ghost small" onClick={() => setRenaming(false)}>{t('list.cancel')}</button>
          </form>
        ) : <h3 className="kb-name">{name}</h3>}
        <span className="muted">{t('kb.documentCount', { count: base.documentCount })}</span>
      </div>
      {base.description && <p className="kb-description">{base.description}</p>}
      {base.documents.length === 0 ? <p className="muted">{t('kb.noDocuments')}</p> : (
        <ul className="kb-documents" aria-label={t('kb.documentsOf', { name })}>
          {base.documents.map((document) => {
            const documentName = document.name ?? t('erased');
            return (
              <li key={document.id}>
                <Link href={`/documents/${document.id}`}>{documentName}</Link>
                <button type="button" className="ghost small" disabled={taken.fetching} onClick={() => void takeOut(document.id)}
                  aria-label={t('kb.removeNamed', { document: documentName, name })}>{t('kb.remove')}</button>
              </li>
            );
          })}
        </ul>
      )}
      {addable.length > 0 ? (
        <form className="kb-add" onSubmit={(event) => void submitAdd(event)}>
          <label htmlFor={ids.add}>{t('kb.addDocument', { name })}</label>
          <div className="rename">
            <select id={ids.add} name="documentId" defaultValue={addable[0]!.id}>
              {addable.map((document) => <option key={document.id} value={document.id}>{document.name ?? t('erased')}</option>)}
            </select>
            <button type="submit" className="small" disabled={added.fetching} aria-label={t('kb.addNamed', { name })}>{t('kb.add')}</button>
          </div>
        </form>
      ) : documents.length > 0 && <p className="muted">{t('kb.allAdded')}</p>}
      <div className="item-actions">
        <button type="button" className="ghost small" onClick={() => setRenaming(!renaming)} aria-expanded={renaming}
          aria-label={t('kb.renameNamed', { name })}>{t('kb.rename')}</button>
        <button type="button" className="ghost small danger" disabled={removal.fetching} onClick={() => void removeBase()}
          aria-label={t('kb.deleteNamed', { name })}>{t('kb.delete')}</button>
      </div>
      <ErrorText error={renamed.error ?? removal.error ?? added.error ?? taken.error} />
    </li>
  );
}
