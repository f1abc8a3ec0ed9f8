import { Fragment, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useClient, useQuery, useSubscription, type CombinedError } from 'urql';
import { errorCode } from '../../client.ts';
import { ErrorText } from '../../components/error-text.tsx';
import { useSession } from '../../session.tsx';
import { formatTime, localToIso, shortId } from './format.ts';
import { AuditFeedSubscription, AuditLogQuery, type AuditEventView, type AuditFilterInput } from './operations.ts';

const PAGE_SIZE = 50;
/** The live feed keeps this many of the newest events it delivered (older ones are in the log pages). */
const MAX_LIVE = 500;
const MAX_BACKOFF_MS = 15_000;

export function AuditTab() {
  const { t } = useTranslation('admin');
  const [filter, setFilter] = useState<AuditFilterInput>({});
  // A new filter starts the log and the feed afresh.
  const [generation, setGeneration] = useState(0);
  return (
    <div className="stack">
      <h2>{t('audit.title')}</h2>
      <p className="muted">{t('audit.intro')}</p>
      <AuditFilters active={filter} onApply={(next) => { setFilter(next); setGeneration((n) => n + 1); }} />
      <AuditLog key={generation} filter={filter} />
    </div>
  );
}

const byPositionDesc = (a: AuditEventView, b: AuditEventView) => {
  const difference = BigInt(b.position) - BigInt(a.position);
  return difference > 0n ? 1 : difference < 0n ? -1 : 0;
};

/** The newest `limit` of both lists, newest first, each event once. */
function mergeNewest(current: readonly AuditEventView[], incoming: readonly AuditEventView[], limit = MAX_LIVE): AuditEventView[] {
  const byPosition = new Map(current.map((event) => [event.position, event]));
  for (const event of incoming) byPosition.set(event.position, event);
  return [...byPosition.values()].sort(byPositionDesc).slice(0, limit);
}

const nextPosition = (position: string) => (BigInt(position) + 1n).toString();

type FeedStatus = 'connecting' | 'live' | 'paused' | 'reconnecting' | 'ended' | 'bounded';

/**
 * The auditFeed subscription (graphql-sse through urql). It starts right after the newest event the
 * log page showed (`start`; null: from now), so nothing recorded in between is missed; after a
 * dropped connection, or a pause, it resumes after the last event it delivered (the server replays
 * the rest), backing off while the server cannot be reached.
 */
function useAuditFeed(filter: AuditFilterInput, start: string | null | undefined) {
  const [enabled, setEnabled] = useState(true);
  const [resume, setResume] = useState<string | null | undefined>(undefined);
  const [events, setEvents] = useState<AuditEventView[]>([]);
  const [retrying, setRetrying] = useState(false);
  const [ended, setEnded] = useState<CombinedError | null>(null);
  const failures = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef<string | null>(null);
  latest.current = events[0]?.position ?? null;
  const bounded = Boolean(filter.toPosition);

  if (start !== undefined && resume === undefined) setResume(start);
  const resumePoint = () => (latest.current ? nextPosition(latest.current) : resume ?? null);

  const variables = useMemo(() => {
    const { toPosition: _ignored, ...rest } = filter;
    return { filter: resume ? { ...rest, fromPosition: resume } : rest };
  }, [filter, resume]);
  const [result] = useSubscription(
    { query: AuditFeedSubscription, variables, pause: !enabled || bounded || resume === undefined || retrying || ended !== null },
    (previous: AuditEventView[] | undefined, data) => mergeNewest(previous ?? [], [data.auditFeed]),
  );

  useEffect(() => {
    if (!result.data?.length) return;
    failures.current = 0;
    setEvents((current) => mergeNewest(current, result.data!));
  }, [result.data]);

  useEffect(() => {
    const error = result.error;
    if (!error) return;
    const code = errorCode(error);
    if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return void setEnded(error);
    setRetrying(true);
    failures.current += 1;
    const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures.current, 5)) * (0.5 + Math.random() / 2);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      setResume(resumePoint());
      setRetrying(false);
    }, wait);
    // resumePoint reads refs only.
  }, [result.error]);

  useEffect(() => {
    // Back online: try again at once rather than at the end of the back-off.
    const online = () => {
      if (!timer.current) return;
      clearTimeout(timer.current);
      timer.current = undefined;
      setResume(resumePoint());
      setRetrying(false);
    };
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      clearTimeout(timer.current);
    };
  }, []);

  const toggle = () => {
    // Resuming catches up from the last delivered event: what was recorded during the pause arrives too.
    if (!enabled) setResume(resumePoint());
    setEnabled(!enabled);
  };
  const status: FeedStatus = ended ? 'ended' : bounded ? 'bounded' : !enabled ? 'paused' : retrying ? 'reconnecting' : resume === undefined ? 'connecting' : 'live';
  return { events, status, enabled, toggle, ended };
}

function AuditLog({ filter }: { filter: AuditFilterInput }) {
  const { t } = useTranslation('admin');
  const client = useClient();
  const [first] = useQuery({ query: AuditLogQuery, variables: { filter, first: PAGE_SIZE }, requestPolicy: 'network-only' });
  const [older, setOlder] = useState<{ events: AuditEventView[]; cursor: string | null; hasMore: boolean } | null>(null);
  const [olderError, setOlderError] = useState<CombinedError | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const page = first.data?.auditLog;
  const start = page ? (page.edges[0] ? nextPosition(page.edges[0].node.position) : filter.fromPosition ?? null) : undefined;
  const feed = useAuditFeed(filter, start);

  const logged = [...(page?.edges.map((edge) => edge.node) ?? []), ...(older?.events ?? [])];
  const loggedPositions = new Set(logged.map((event) => event.position));
  const liveOnly = feed.events.filter((event) => !loggedPositions.has(event.position));
  const cursor = older ? older.cursor : page?.pageInfo.endCursor ?? null;
  const hasMore = older ? older.hasMore : page?.pageInfo.hasNextPage ?? false;

  const loadOlder = async () => {
    if (!cursor) return;
    setLoadingOlder(true);
    const result = await client.query(AuditLogQuery, { filter, first: PAGE_SIZE, after: cursor }, { requestPolicy: 'network-only' }).toPromise();
    setLoadingOlder(false);
    setOlderError(result.error ?? null);
    const next = result.data?.auditLog;
    if (next) {
      setOlder({ events: [...(older?.events ?? []), ...next.edges.map((edge) => edge.node)], cursor: next.pageInfo.endCursor ?? null, hasMore: next.pageInfo.hasNextPage });
    }
  };

  return (
    <div className="stack">
      <div className="audit-feed-bar">
        <button type="button" className="ghost" aria-pressed={feed.enabled} disabled={feed.status === 'bounded' || feed.status === 'ended'} onClick={feed.toggle}>
          {t('audit.liveUpdates')}
        </button>
        <p role="status" className={`feed-status feed-${feed.status}`} data-feed={feed.status}>
          {t(`audit.feed.${feed.status}`)}{liveOnly.length > 0 && ` ${t('audit.newCount', { count: liveOnly.length })}`}
        </p>
      </div>
      {feed.ended && <ErrorText error={feed.ended} />}
      <ErrorText error={first.error} />
      {!page && !first.error && <p className="muted">{t('loading')}</p>}
      {page && logged.length === 0 && liveOnly.length === 0 && <p className="muted">{t('audit.none')}</p>}
      <ol className="audit-list" aria-label={t('audit.listLabel')}>
        {liveOnly.map((event) => <AuditItem key={event.position} event={event} live />)}
        {logged.map((event) => <AuditItem key={event.position} event={event} live={false} />)}
      </ol>
      <ErrorText error={olderError} />
      {hasMore && (
        <button type="button" className="ghost" disabled={loadingOlder} onClick={() => void loadOlder()}>
          {loadingOlder ? t('loading') : t('audit.older')}
        </button>
      )}
    </div>
  );
}

function AuditItem({ event, live }: { event: AuditEventView; live: boolean }) {
  const { t, i18n } = useTranslation('admin');
  const { viewer } = useSession();
  const actor = event.actorId === null ? t('audit.system') : event.actorId === viewer?.id ? t('audit.you') : shortId(event.actorId);
  const ids: [string, string | null][] = [['correlation', event.correlationId], ['causation', event.causationId], ['request', event.requestId]];
  const summary = event.summary && typeof event.summary === 'object' && Object.keys(event.summary).length > 0 ? JSON.stringify(event.summary, null, 2) : null;
  return (
    <li className={`audit-event${live ? ' live' : ''}`} data-live={live ? 'true' : undefined} data-type={event.type} data-stream={event.stream}>
      <div className="audit-line">
        <time dateTime={event.occurredAt ?? undefined}>{formatTime(event.occurredAt, i18n.language)}</time>
        <strong className="audit-type wrap-anywhere">{event.type}</strong>
        {live && <span className="badge badge-new">{t('audit.new')}</span>}
      </div>
      <div className="audit-meta">
        <span><span className="muted">{t('audit.stream')}</span> <code className="wrap-anywhere">{event.stream}</code></span>
        <span><span className="muted">{t('audit.actor')}</span> {event.actorId && event.actorId !== viewer?.id ? <code title={event.actorId}>{actor}</code> : <span>{actor}</span>}</span>
        {ids.filter(([, id]) => id).map(([name, id]) => (
          <span key={name}><span className="muted">{t(`audit.ids.${name}`)}</span> <code title={id!}>{shortId(id!)}</code></span>
        ))}
      </div>
      {event.personalFields.length > 0 && (
        <p className="audit-personal">
          <span className="muted">{t('audit.personalFields')}</span> {event.personalFields.join(', ')}
          {event.subjectErased && <> <span className="badge">{t('audit.erased')}</span></>}
        </p>
      )}
      <details className="audit-details">
        <summary>{t('audit.details')}<span className="visually-hidden"> {t('audit.detailsOf', { type: event.type, position: event.position })}</span></summary>
        <dl className="details">
          <dt>{t('audit.eventId')}</dt><dd><code className="wrap-anywhere">{event.eventId}</code></dd>
          <dt>{t('audit.position')}</dt><dd>{event.position}</dd>
          <dt>{t('audit.schemaVersion')}</dt><dd>{event.schemaVersion}</dd>
          <dt>{t('audit.actor')}</dt><dd><code className="wrap-anywhere">{event.actorId ?? t('audit.system')}</code></dd>
          {ids.map(([name, id]) => (
            <Fragment key={name}><dt>{t(`audit.ids.${name}`)}</dt><dd><code className="wrap-anywhere">{id ?? '—'}</code></dd></Fragment>
          ))}
          <dt>{t('audit.subject')}</dt>
          <dd><code className="wrap-anywhere">{event.subjectId ?? '—'}</code>{event.subjectErased && <> <span className="badge">{t('audit.erased')}</span></>}</dd>
          <dt>{t('audit.summary')}</dt><dd>{summary ? <pre className="audit-summary">{summary}</pre> : '—'}</dd>
        </dl>
      </details>
    </li>
  );
}

const EMPTY_FORM = { types: '', streamPrefix: '', actorId: '', subjectId: '', occurredFrom: '', occurredTo: '', fromPosition: '', toPosition: '' };
type FilterForm = typeof EMPTY_FORM;

function toFilter(form: FilterForm): AuditFilterInput {
  const filter: AuditFilterInput = {};
  const types = form.types.split(/[\s,]+/).filter(Boolean);
  if (types.length) filter.types = types;
  for (const key of ['streamPrefix', 'actorId', 'subjectId', 'fromPosition', 'toPosition'] as const) {
    const value = form[key].trim();
    if (value) filter[key] = value;
  }
  const from = localToIso(form.occurredFrom);
  const to = localToIso(form.occurredTo);
  if (from) filter.occurredFrom = from;
  if (to) filter.occurredTo = to;
  return filter;
}

function AuditFilters({ active, onApply }: { active: AuditFilterInput; onApply(filter: AuditFilterInput): void }) {
  const { t } = useTranslation('admin');
  const [form, setForm] = useState<FilterForm>(EMPTY_FORM);
  const base = useId();
  const count = Object.keys(active).length;
  const field = (key: keyof FilterForm, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <div className="field" key={key}>
      <label htmlFor={`${base}-${key}`}>{t(`audit.filter.${key}`)}</label>
      <input id={`${base}-${key}`} value={form[key]} onChange={(event) => setForm({ ...form, [key]: event.target.value })} {...props} />
    </div>
  );
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    onApply(toFilter(form));
  };
  return (
    <details className="audit-filters" open={count > 0 || undefined}>
      <summary>{count > 0 ? t('audit.filtersActive', { count }) : t('audit.filters')}</summary>
      <form className="stack" onSubmit={submit} aria-label={t('audit.filters')}>
        <div className="row">
          {field('types', { placeholder: t('audit.filter.typesExample'), maxLength: 2000, 'aria-describedby': `${base}-types-hint` })}
          {field('streamPrefix', { placeholder: t('audit.filter.streamPrefixExample'), maxLength: 256 })}
        </div>
        <p className="hint" id={`${base}-types-hint`}>{t('audit.filter.typesHint')}</p>
        <div className="row">
          {field('actorId', { maxLength: 200, spellCheck: false })}
          {field('subjectId', { maxLength: 200, spellCheck: false })}
        </div>
        <div className="row">
          {field('occurredFrom', { type: 'datetime-local', step: 1 })}
          {field('occurredTo', { type: 'datetime-local', step: 1 })}
        </div>
        <div className="row">
          {field('fromPosition', { inputMode: 'numeric', pattern: '\\d{1,19}', maxLength: 19 })}
          {field('toPosition', { inputMode: 'numeric', pattern: '\\d{1,19}', maxLength: 19 })}
        </div>
        <div className="row">
          <button type="submit">{t('audit.apply')}</button>
          <button type="button" className="ghost" onClick={() => { setForm(EMPTY_FORM); onApply({}); }}>{t('audit.clear')}</button>
        </div>
      </form>
    </details>
  );
}
