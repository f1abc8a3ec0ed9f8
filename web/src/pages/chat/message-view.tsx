import { memo, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'wouter';
import { Markdown } from '../../components/markdown.tsx';
import type { ChatMessage } from './operations.ts';

/** Where a cited source opens: its document, scrolled to the chunk. */
const sourceHref = (source: { documentId: string; chunkId: string }) => `/documents/${source.documentId}?chunk=${encodeURIComponent(source.chunkId)}`;

/** One message; memoised, so a token arriving in the streaming reply re-renders that reply only. */
export const MessageView = memo(function MessageView({ message }: { message: ChatMessage }) {
  const { t } = useTranslation('chat');
  const [details, setDetails] = useState(false);
  const mine = message.role === 'USER';
  const streaming = message.status === 'STREAMING';
  const citations = useMemo(() => [...message.sources].sort((a, b) => a.n - b.n).map(sourceHref), [message.sources]);
  return (
    <article className={`message ${mine ? 'mine' : 'reply'} status-${message.status.toLowerCase()}`} aria-busy={streaming}
      aria-label={mine ? t('you') : t('assistant')} data-status={message.status}>
      <div className="message-meta">
        <span className="author">{mine ? t('you') : message.model ?? t('assistant')}</span>
        {!mine && message.status !== 'COMPLETE' && <span className={`badge ${message.status.toLowerCase()}`}>{t(`status.${message.status}`)}</span>}
      </div>
      {mine ? <p className="plain">{message.content}</p> : <Markdown text={message.content ?? ''} citations={citations} />}
      {streaming && <span className="cursor" aria-hidden="true" />}
      {message.errorMessage && <p className="error">{t(`errors.${message.errorCode ?? ''}`, { defaultValue: message.errorMessage })}</p>}
      {message.sources.length > 0 && (
        <ol className="sources" aria-label={t('sources')}>
          {message.sources.map((source) => (
            <li key={source.n} value={source.n}>
              <Link href={sourceHref(source)}>
                {t('sourceLabel', { n: source.n, version: source.documentVersion, page: source.page ?? '–' })}
              </Link>
            </li>
          ))}
        </ol>
      )}
      {!mine && !streaming && (
        <div className="message-tools">
          <button type="button" className="ghost small" aria-expanded={details} onClick={() => setDetails(!details)}>{t('details')}</button>
          {details && (
            <dl className="details">
              <dt>{t('tokens')}</dt>
              <dd>{message.usage ? t('tokenCounts', message.usage) : '–'}</dd>
              <dt>{t('timeToFirstToken')}</dt>
              <dd>{message.timeToFirstTokenMs !== null ? t('ms', { value: message.timeToFirstTokenMs }) : '–'}</dd>
              <dt>{t('latency')}</dt>
              <dd>{message.latencyMs !== null ? t('ms', { value: message.latencyMs }) : '–'}</dd>
              <dt>{t('finishReason')}</dt>
              <dd>{message.finishReason ?? '–'}</dd>
            </dl>
          )}
        </div>
      )}
    </article>
  );
});
