import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useQuery, useSubscription } from 'urql';
import { Link, useLocation, useSearch } from 'wouter';
import { errorCode } from '../../client.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { DOCUMENT_CONTEXT, NewVersionButton, RenameDocumentForm, useDeleteDocument } from './document-actions.tsx';
import { statusLabel, typeLabel } from './document-table.tsx';
import { formatDate, formatNumber, formatSize, PROCESSING } from './format.ts';
import {
  DocumentChunkQuery, DocumentChunksQuery, DocumentEventsSubscription, DocumentQuery, SearchDocumentQuery, type DocumentDetails, type DocumentUpdate, type Passage,
} from './operations.ts';
import type { ResultOf } from '../../graphql.ts';

type Chunk = NonNullable<ResultOf<typeof DocumentChunksQuery>['document']>['chunks']['nodes'][number];
import { failureText, UploadList } from './upload-panel.tsx';
import { uploads } from './uploads.ts';

/** The passages of one document that a search of it returns (at most this many; the API's limit is 100). */
const SEARCH_LIMIT = 20;

export function DocumentView({ documentId }: { documentId: string }) {
  const { t, i18n } = useTranslation('documents');
  const [, navigate] = useLocation();
  const chunkId = new URLSearchParams(useSearch()).get('chunk');
  const context = useMemo(() => DOCUMENT_CONTEXT, []);
  const [{ data, error, fetching }, refetch] = useQuery({ query: DocumentQuery, variables: { id: documentId }, requestPolicy: 'cache-and-network', context });
  const [renaming, setRenaming] = useState(false);
  const [removal, remove] = useDeleteDocument();
  const document = data?.document ?? null;
  const processing = document !== null && PROCESSING.has(document.status);

  // While it is being processed, its stages arrive live; each one re-reads the whole document.
  const [live] = useSubscription({ query: DocumentEventsSubscription, variables: { documentId }, pause: !processing },
    (_previous: DocumentUpdate | undefined, event: { documentEvents: DocumentUpdate }) => event.documentEvents);
  const liveStatus = live.data?.kind === 'STATUS' ? live.data.document?.status : live.data?.kind;
  useEffect(() => {
    if (liveStatus && document && liveStatus !== document.status) refetch({ requestPolicy: 'network-only' });
  }, [liveStatus, document, refetch]);
  useEffect(() => uploads.onDocumentChanged((id) => {
    if (id === documentId) refetch({ requestPolicy: 'network-only' });
  }), [documentId, refetch]);

  if (!document) {
    const missing = errorCode(error) === 'NOT_FOUND';
    return (
      <section className="page document-view">
        <p><Link href="/documents">{t('view.back')}</Link></p>
        <h1>{missing ? t('view.notFound') : t('view.title')}</h1>
        {fetching && <p className="muted" role="status">{t('loading')}</p>}
        {!missing && <ErrorText error={error} />}
      </section>
    );
  }

  const name = document.name ?? t('erased');
  const deleteIt = async () => {
    if (await remove(document.id, document.name)) navigate('/documents');
  };
  const row = (label: string, value: string | number | null | undefined) => (
    <>
      <dt>{label}</dt>
      <dd>{value === null || value === undefined ? '–' : value}</dd>
    </>
  );
  return (
    <section className="page document-view">
      <p><Link href="/documents">{t('view.back')}</Link></p>
      {renaming
        ? <RenameDocumentForm id={document.id} name={document.name} onDone={() => setRenaming(false)} />
        : <h1 className="document-title">{name}</h1>}
      <div className="item-actions">
        <button type="button" className="ghost small" onClick={() => setRenaming(!renaming)} aria-expanded={renaming}
          aria-label={t('list.renameNamed', { name })}>{t('list.rename')}</button>
        <NewVersionButton id={document.id} name={document.name} />
        <button type="button" className="ghost small danger" disabled={removal.fetching} onClick={() => void deleteIt()}
          aria-label={t('list.deleteNamed', { name })}>{t('list.delete')}</button>
      </div>
      <ErrorText error={removal.error} />
      <UploadList documentId={document.id} />
      <h2>{t('view.details')}</h2>
      <dl className="details document-details">
        {row(t('list.type'), typeLabel(document.mediaType, t))}
        {row(t('list.size'), formatSize(document.size, i18n.language))}
        <dt>{t('list.status')}</dt>
        <dd data-status={document.status} className={`document-status status-${document.status}`}>
          <span role={processing ? 'status' : undefined}>{statusLabel(document, t)}</span>
        </dd>
        {document.failure?.message && row(t('view.failure'), failureText(document.failure, t) === document.failure.message ? document.failure.message : `${failureText(document.failure, t)} (${document.failure.message})`)}
        {row(t('list.version'), document.version)}
        {row(t('view.indexedVersion'), document.indexedVersion)}
        {row(t('view.pages'), document.pages)}
        {row(t('view.characters'), document.characters === null ? null : formatNumber(document.characters, i18n.language))}
        {document.ocrPages ? row(t('view.ocrPages'), document.ocrPages) : null}
        {row(t('view.chunkCount'), document.chunkCount)}
        {row(t('view.embeddingModel'), document.embeddingModel ?? (document.indexedVersion ? t('view.lexicalOnly') : null))}
        {row(t('list.uploadedAt'), formatDate(document.createdAt, i18n.language))}
        {row(t('view.updatedAt'), formatDate(document.updatedAt, i18n.language))}
        <dt>{t('view.sha256')}</dt>
        <dd><code className="hash">{document.sha256}</code></dd>
      </dl>
      {chunkId && <CitedPassage key={chunkId} chunkId={chunkId} />}
      <SearchDocument document={document} citedChunkId={chunkId} />
      <DocumentText key={`${document.id}:${document.indexedVersion ?? ''}`} documentId={document.id} citedChunkId={chunkId} />
    </section>
  );
}

function PassageMeta({ passage }: { passage: Pick<Passage, 'documentVersion' | 'page' | 'headingPath'> }) {
  const { t } = useTranslation('documents');
  const parts = [t('view.passageVersion', { version: passage.documentVersion })];
  if (passage.page !== null) parts.push(t('view.passagePage', { page: passage.page }));
  if (passage.headingPath.length > 0) parts.push(passage.headingPath.join(' › '));
  return <p className="passage-meta muted">{parts.join(' · ')}</p>;
}

/** The passage a citation points at, read by its id (the owner's only), highlighted and focused. */
function CitedPassage({ chunkId }: { chunkId: string }) {
  const { t } = useTranslation('documents');
  const [{ data, error, fetching }] = useQuery({ query: DocumentChunkQuery, variables: { id: chunkId }, requestPolicy: 'network-only' });
  const passage = data?.documentChunk ?? null;
  const target = useRef<HTMLQuoteElement>(null);
  useEffect(() => {
    if (!passage || !target.current) return;
    target.current.scrollIntoView({ block: 'center' });
    target.current.focus({ preventScroll: true });
  }, [passage]);
  return (
    <section aria-labelledby="cited-title" className="cited-passage">
      <h2 id="cited-title">{t('view.cited')}</h2>
      {fetching && !data && <p className="muted" role="status">{t('view.locating')}</p>}
      {errorCode(error) === 'NOT_FOUND' ? <p className="notice">{t('view.citedMissing')}</p> : <ErrorText error={error} />}
      {passage && (
        <>
          <PassageMeta passage={passage} />
          {/* Document text is untrusted: shown as text, never as HTML or Markdown. */}
          <blockquote ref={target} tabIndex={-1} className="passage cited" data-chunk-id={passage.id}>
            <p className="passage-text">{passage.text}</p>
          </blockquote>
        </>
      )}
    </section>
  );
}

/** The document's text as it was split into passages, 50 at a time. */
function DocumentText({ documentId, citedChunkId }: { documentId: string; citedChunkId: string | null }) {
  const { t } = useTranslation('documents');
  const [after, setAfter] = useState<string | null>(null);
  const [pages, setPages] = useState<Chunk[][]>([]);
  const [{ data, error, fetching }] = useQuery({ query: DocumentChunksQuery, variables: { id: documentId, after }, requestPolicy: 'network-only' });
  const page = data?.document.chunks;
  useEffect(() => {
    if (page) setPages((known) => (after === null ? [page.nodes] : [...known, page.nodes]));
  }, [page, after]);
  const chunks = pages.flat();
  return (
    <section aria-labelledby="text-title" className="document-text">
      <h2 id="text-title">{t('view.text')}</h2>
      <ErrorText error={error} />
      {!fetching && chunks.length === 0 && !error && <p className="muted">{t('view.noText')}</p>}
      <ol className="passages">
        {chunks.map((chunk) => (
          <li key={chunk.id}>
            <PassageMeta passage={chunk} />
            <blockquote className={`passage${chunk.id === citedChunkId ? ' cited' : ''}`} data-chunk-id={chunk.id}>
              <p className="passage-text">{chunk.text}</p>
            </blockquote>
          </li>
        ))}
      </ol>
      {page?.hasNextPage && (
        <button type="button" className="ghost" disabled={fetching} onClick={() => setAfter(page.endCursor)}>{t('view.moreText')}</button>
      )}
    </section>
  );
}

function SearchDocument({ document, citedChunkId }: { document: DocumentDetails; citedChunkId: string | null }) {
  const { t } = useTranslation('documents');
  const [query, setQuery] = useState('');
  const inputId = useId();
  const [{ data, error, fetching }] = useQuery({
    query: SearchDocumentQuery, variables: { query, documentIds: [document.id], limit: SEARCH_LIMIT }, pause: query.length === 0, requestPolicy: 'network-only',
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setQuery(String(new FormData(event.currentTarget).get('query') ?? '').trim());
  };
  const hits = query ? data?.search.hits ?? [] : [];
  return (
    <section aria-labelledby="search-title" className="document-search">
      <h2 id="search-title">{t('view.search')}</h2>
      {document.indexedVersion === null && <p className="muted">{t('view.notIndexed')}</p>}
      <form role="search" className="rename" onSubmit={submit}>
        <label htmlFor={inputId} className="visually-hidden">{t('view.searchLabel')}</label>
        <input id={inputId} name="query" type="search" maxLength={2000} placeholder={t('view.searchPlaceholder')} />
        <button type="submit">{t('view.searchButton')}</button>
      </form>
      <ErrorText error={error} />
      {query && !fetching && data && <p role="status" className="muted">{t('view.results', { count: hits.length })}</p>}
      {hits.length > 0 && (
        <ol className="passages">
          {hits.map((hit) => (
            <li key={hit.chunkId}>
              <PassageMeta passage={hit} />
              <blockquote className={`passage${hit.chunkId === citedChunkId ? ' cited' : ''}`} data-chunk-id={hit.chunkId}>
                <p className="passage-text">{hit.text}</p>
              </blockquote>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
