import { useId, useRef, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { DeleteDocumentMutation, RenameDocumentMutation } from './operations.ts';
import { uploads } from './uploads.ts';

export const DOCUMENT_CONTEXT = { additionalTypenames: ['Document', 'KnowledgeBase'] };

export function RenameDocumentForm({ id, name, onDone }: { id: string; name: string | null; onDone(renamed: boolean): void }) {
  const { t } = useTranslation('documents');
  const [renamed, rename] = useMutation(RenameDocumentMutation);
  const inputId = useId();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = String(new FormData(event.currentTarget).get('name') ?? '').trim();
    const result = await rename({ id, name: value }, DOCUMENT_CONTEXT);
    if (result.data) onDone(true);
  };
  return (
    <form className="rename-form" onSubmit={(event) => void submit(event)}>
      <div className="rename">
        <label htmlFor={inputId} className="visually-hidden">{t('list.newName')}</label>
        <input id={inputId} name="name" defaultValue={name ?? ''} maxLength={255} required autoFocus
          onKeyDown={(event) => { if (event.key === 'Escape') onDone(false); }} />
        <button type="submit" className="small" disabled={renamed.fetching}>{t('list.save')}</button>
        <button type="button" className="ghost small" onClick={() => onDone(false)}>{t('list.cancel')}</button>
      </div>
      <ErrorText error={renamed.error} />
    </form>
  );
}

/** Deletes after the person confirms; resolves true once the server deleted it. */
export function useDeleteDocument() {
  const { t } = useTranslation('documents');
  const [state, remove] = useMutation(DeleteDocumentMutation);
  const run = async (id: string, name: string | null) => {
    if (!window.confirm(t('list.confirmDelete', { name: name ?? t('erased') }))) return false;
    const result = await remove({ id }, DOCUMENT_CONTEXT);
    if (result.data) uploads.markDeleted(id);
    return Boolean(result.data);
  };
  return [state, run] as const;
}

/** A button that picks the file of a new version of the document; the upload shows with the others. */
export function NewVersionButton({ id, name }: { id: string; name: string | null }) {
  const { t } = useTranslation('documents');
  const input = useRef<HTMLInputElement>(null);
  const label = t('list.newVersionNamed', { name: name ?? t('erased') });
  return (
    <>
      <button type="button" className="ghost small" aria-label={label} onClick={() => input.current?.click()}>{t('list.newVersion')}</button>
      <input ref={input} type="file" className="visually-hidden" tabIndex={-1} aria-label={label} data-version-of={id}
        onChange={(event) => {
          const file = event.target.files?.[0];
          if (file) uploads.add([file], { id, name });
          event.target.value = '';
        }} />
    </>
  );
}
