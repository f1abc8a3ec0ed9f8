import { useId, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { Link } from 'wouter';
import { formatSize } from './format.ts';
import type { DocumentItem } from './operations.ts';
import type { UploadRefusal } from './upload.ts';
import { isFinished, percent, uploads, useUploads, type UploadItem } from './uploads.ts';

/** What people read when the server did not take a file: the limit when it was too large, else the server's reason. */
export function refusalText(refusal: UploadRefusal, t: TFunction, language: string): string {
  if (refusal.maxBytes !== null) return t('errors.tooLarge', { limit: formatSize(refusal.maxBytes, language) });
  if (refusal.code === 'NETWORK') return t('errors.network');
  if (refusal.code === 'BAD_USER_INPUT' && refusal.message) return t('errors.refused', { message: refusal.message });
  return t(`common:errors.${refusal.code}`, { defaultValue: refusal.message || t('errors.unknown', { status: refusal.status }) });
}

export function failureText(failure: DocumentItem['failure'], t: TFunction): string {
  if (!failure) return t('reasons.unknown');
  return t(`reasons.${failure.reason}`, { defaultValue: failure.message ?? failure.reason });
}

function statusText(item: UploadItem, t: TFunction): string {
  if (item.stage === 'failed') return t('stage.failed', { reason: failureText(item.failure, t) });
  return t(`stage.${item.stage}`);
}

function detailText(item: UploadItem, t: TFunction, language: string): string {
  if (item.stage === 'sending' || item.stage === 'queued') {
    return t('upload.sentOf', { sent: formatSize(item.sent, language), total: formatSize(item.total, language) });
  }
  if (item.stage === 'extracting' && item.pages) return t('upload.pagesOf', item.pages);
  if (item.stage === 'embedding' && item.chunks) return t('upload.chunksOf', item.chunks);
  return formatSize(item.size, language);
}

function UploadRow({ item, linked }: { item: UploadItem; linked: boolean }) {
  const { t, i18n } = useTranslation('documents');
  const progressId = useId();
  const label = item.versionOf ? t('upload.versionOf', { name: item.versionOfName ?? t('erased'), file: item.name }) : item.name;
  const value = percent(item);
  return (
    <li className={`upload stage-${item.stage}`} data-stage={item.stage}>
      <div className="upload-head">
        <label htmlFor={progressId} className="upload-name">{label}</label>
        <span className="muted upload-detail">{detailText(item, t, i18n.language)}</span>
      </div>
      <progress id={progressId} className="progress" max={100} value={value}>{t('upload.percent', { value })}</progress>
      <p role="status" className="upload-status">{statusText(item, t)}</p>
      {item.reconnecting && <p className="muted">{t('upload.reconnecting')}</p>}
      {item.refusal && (item.stage === 'refused' || item.stage === 'lost') && (
        <p role="alert" className="error">{item.stage === 'lost' && item.refusal.code === 'NETWORK' ? t('errors.lost') : refusalText(item.refusal, t, i18n.language)}</p>
      )}
      <div className="item-actions">
        {(item.stage === 'queued' || item.stage === 'sending') && (
          <button type="button" className="ghost small" onClick={() => uploads.cancel(item.key)} aria-label={t('upload.cancelNamed', { name: item.name })}>{t('upload.cancel')}</button>
        )}
        {linked && item.documentId && item.stage !== 'deleted' && (
          <Link className="small-link" href={`/documents/${item.documentId}`} aria-label={t('upload.openNamed', { name: item.name })}>{t('upload.open')}</Link>
        )}
        {isFinished(item) && (
          <button type="button" className="ghost small" onClick={() => uploads.dismiss(item.key)} aria-label={t('upload.dismissNamed', { name: item.name })}>{t('upload.dismiss')}</button>
        )}
      </div>
    </li>
  );
}

/** The uploads of this tab (optionally only those of one document), newest first, each with its progress. */
export function UploadList({ documentId }: { documentId?: string }) {
  const { t } = useTranslation('documents');
  const all = useUploads();
  const items = documentId ? all.filter((item) => item.documentId === documentId || item.versionOf === documentId) : all;
  if (items.length === 0) return null;
  return (
    <>
      <ul className="uploads" aria-label={t('upload.list')}>
        {items.map((item) => <UploadRow key={item.key} item={item} linked={!documentId} />)}
      </ul>
      {!documentId && items.some(isFinished) && (
        <button type="button" className="ghost small" onClick={() => uploads.clearFinished()}>{t('upload.clearFinished')}</button>
      )}
    </>
  );
}

export function UploadPanel() {
  const { t } = useTranslation('documents');
  const inputId = useId();
  const hintId = useId();
  const [dragging, setDragging] = useState(false);
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length > 0) uploads.add(event.dataTransfer.files);
  };
  return (
    <section className="upload-panel" aria-labelledby={`${inputId}-title`}>
      <h2 id={`${inputId}-title`}>{t('upload.title')}</h2>
      <div className={`dropzone${dragging ? ' dragging' : ''}`} onDrop={onDrop}
        onDragOver={(event) => { event.preventDefault(); setDragging(true); }} onDragLeave={() => setDragging(false)}>
        <label htmlFor={inputId}>{t('upload.choose')}</label>
        <input id={inputId} type="file" multiple aria-describedby={hintId}
          onChange={(event) => {
            if (event.target.files?.length) uploads.add(event.target.files);
            event.target.value = '';
          }} />
        <p className="hint" id={hintId}>{t('upload.hint')}</p>
      </div>
      <UploadList />
    </section>
  );
}
