import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { Link } from 'wouter';
import { ErrorText } from '../../components/error-text.tsx';
import { NewVersionButton, RenameDocumentForm, useDeleteDocument } from './document-actions.tsx';
import { formatDate, formatSize } from './format.ts';
import type { DocumentItem } from './operations.ts';
import { failureText } from './upload-panel.tsx';
import type { Paged } from './use-paged.ts';

const TYPES: Readonly<Record<string, string>> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/csv': 'csv', 'text/html': 'html', 'text/markdown': 'markdown', 'text/plain': 'text',
};

export function typeLabel(mediaType: string, t: TFunction): string {
  const key = TYPES[mediaType] ?? (mediaType.startsWith('image/') ? 'image' : null);
  return key ? t(`types.${key}`) : mediaType;
}

export function statusLabel(document: Pick<DocumentItem, 'status' | 'failure'>, t: TFunction): string {
  if (document.status === 'failed') return t('stage.failed', { reason: failureText(document.failure, t) });
  return t(`status.${document.status}`, { defaultValue: document.status });
}

export function DocumentTable({ documents, onChanged }: { documents: Paged<DocumentItem>; onChanged(): void }) {
  const { t } = useTranslation('documents');
  return (
    <section aria-labelledby="documents-list-title">
      <h2 id="documents-list-title">{t('list.title')}</h2>
      <ErrorText error={documents.error} />
      {documents.loading ? <p className="muted" role="status">{t('loading')}</p>
        : documents.items.length === 0 ? <p className="muted">{t('list.empty')}</p> : (
          <div className="table-wrap">
            <table className="documents-table" role="table">
              {/* The roles are the table's own: a narrow screen lays the rows out as cards (display: block), which would otherwise drop them. */}
              <caption className="visually-hidden">{t('list.caption')}</caption>
              <thead role="rowgroup">
                <tr role="row">
                  <th scope="col" role="columnheader">{t('list.name')}</th>
                  <th scope="col" role="columnheader">{t('list.type')}</th>
                  <th scope="col" role="columnheader">{t('list.size')}</th>
                  <th scope="col" role="columnheader">{t('list.status')}</th>
                  <th scope="col" role="columnheader">{t('list.version')}</th>
                  <th scope="col" role="columnheader">{t('list.uploadedAt')}</th>
                  <th scope="col" role="columnheader">{t('list.actions')}</th>
                </tr>
              </thead>
              <tbody role="rowgroup">
                {documents.items.map((document) => <DocumentRow key={document.id} document={document} onChanged={onChanged} />)}
              </tbody>
            </table>
          </div>
        )}
      {documents.hasMore && <button type="button" className="ghost" onClick={documents.loadMore}>{t('list.loadMore')}</button>}
    </section>
  );
}

function DocumentRow({ document, onChanged }: { document: DocumentItem; onChanged(): void }) {
  const { t, i18n } = useTranslation('documents');
  const [renaming, setRenaming] = useState(false);
  const [removal, remove] = useDeleteDocument();
  const name = document.name ?? t('erased');
  return (
    <tr role="row" data-document-id={document.id}>
      <th scope="row" role="rowheader" className="document-name">
        {renaming
          ? <RenameDocumentForm id={document.id} name={document.name} onDone={(renamed) => { setRenaming(false); if (renamed) onChanged(); }} />
          : <Link href={`/documents/${document.id}`}>{name}</Link>}
      </th>
      <td role="cell" data-label={t('list.type')}>{typeLabel(document.mediaType, t)}</td>
      <td role="cell" data-label={t('list.size')} className="numeric">{formatSize(document.size, i18n.language)}</td>
      <td role="cell" data-label={t('list.status')} data-status={document.status} className={`document-status status-${document.status}`}>{statusLabel(document, t)}</td>
      <td role="cell" data-label={t('list.version')} className="numeric">{document.version}</td>
      <td role="cell" data-label={t('list.uploadedAt')}><time dateTime={document.createdAt}>{formatDate(document.createdAt, i18n.language)}</time></td>
      <td role="cell" className="row-actions">
        <div className="item-actions">
          <button type="button" className="ghost small" onClick={() => setRenaming(!renaming)} aria-expanded={renaming}
            aria-label={t('list.renameNamed', { name })}>{t('list.rename')}</button>
          <NewVersionButton id={document.id} name={document.name} />
          <button type="button" className="ghost small danger" disabled={removal.fetching} aria-label={t('list.deleteNamed', { name })}
            onClick={() => void remove(document.id, document.name).then((deleted) => { if (deleted) onChanged(); })}>{t('list.delete')}</button>
        </div>
        <ErrorText error={removal.error} />
      </td>
    </tr>
  );
}
