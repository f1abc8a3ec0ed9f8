import { useEffect, useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { ParkProjectionEventMutation, ProjectionsQuery, RebuildProjectionMutation, type Projection } from './operations.ts';

/** How often the status is asked again while this tab is shown (and the browser tab visible). */
export const REFRESH_MS = 3_000;
const STATES = ['running', 'standby', 'failed', 'rebuilding', 'stopped'];

export function ProjectionsTab() {
  const { t, i18n } = useTranslation('admin');
  const [{ data, error }, refresh] = useQuery({ query: ProjectionsQuery, requestPolicy: 'network-only' });
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [message, setMessage] = useState('');
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') refresh({ requestPolicy: 'network-only' });
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);
  useEffect(() => { if (data) setUpdatedAt(new Date()); }, [data]);
  const projections = [...(data?.projections ?? [])].sort((a, b) => a.name.localeCompare(b.name));

  return (
    <div className="stack">
      <h2>{t('projections.title')}</h2>
      <p className="muted">
        {t('projections.intro', { seconds: REFRESH_MS / 1000 })}{' '}
        {updatedAt && t('projections.updatedAt', { time: new Intl.DateTimeFormat(i18n.language, { timeStyle: 'medium' }).format(updatedAt) })}
      </p>
      <p role="status" className="admin-message">{message}</p>
      <ErrorText error={error} />
      {!data && !error && <p className="muted">{t('loading')}</p>}
      {data && (
        <ul className="projection-list" aria-label={t('projections.title')}>
          {projections.map((projection) => <ProjectionItem key={projection.name} projection={projection} announce={setMessage} />)}
        </ul>
      )}
    </div>
  );
}

function ProjectionItem({ projection, announce }: { projection: Projection; announce(message: string): void }) {
  const { t } = useTranslation('admin');
  const [rebuild, doRebuild] = useMutation(RebuildProjectionMutation);
  const [park, doPark] = useMutation(ParkProjectionEventMutation);
  const [parking, setParking] = useState(false);
  const [failure, setFailure] = useState<{ error: CombinedError; codes: Record<string, string> } | null>(null);
  const { name } = projection;
  const state = STATES.includes(projection.state) ? t(`projections.states.${projection.state}`) : projection.state;
  const caughtUp = projection.lagEvents === 0;

  const startRebuild = async () => {
    if (!window.confirm(t('projections.confirmRebuild', { name }))) return;
    setFailure(null);
    announce(t('projections.rebuilding', { name }));
    const result = await doRebuild({ name });
    if (result.error) {
      setFailure({ error: result.error, codes: { CONFLICT: t('projections.errors.rebuildConflict') } });
      announce('');
    } else if (result.data) {
      const status = result.data.rebuildProjection;
      announce(t('projections.rebuilt', { name, state: STATES.includes(status.state) ? t(`projections.states.${status.state}`) : status.state }));
    }
  };
  const submitPark = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!projection.failedEventId) return;
    const reason = String(new FormData(event.currentTarget).get('reason') ?? '').trim();
    const result = await doPark({ name, eventId: projection.failedEventId, reason });
    if (result.error) setFailure({ error: result.error, codes: { CONFLICT: t('projections.errors.parkConflict') } });
    else {
      setFailure(null);
      setParking(false);
      announce(t('projections.parked', { name }));
    }
  };

  return (
    <li className={`projection-item${projection.state === 'failed' ? ' failed' : ''}`} data-projection={name}>
      <div className="projection-head">
        <h3><code>{name}</code></h3>
        <span className={`badge state-${projection.state}`} data-state={projection.state}>{state}</span>
      </div>
      <dl className="user-facts">
        <dt>{t('projections.position')}</dt><dd className="numeric">{projection.position}</dd>
        <dt>{t('projections.lag')}</dt>
        <dd data-caught-up={caughtUp}>
          {caughtUp ? t('projections.caughtUp') : t('projections.behind', { count: projection.lagEvents, seconds: projection.lagSeconds.toFixed(1) })}
        </dd>
      </dl>
      {projection.lastError && <p className="error-detail"><strong>{t('projections.lastError')}</strong> <span className="wrap-anywhere">{projection.lastError}</span></p>}
      {projection.failedEventId && (
        <p className="wrap-anywhere">{t('projections.failedAt', { eventId: projection.failedEventId, position: projection.failedPosition ?? '—' })}</p>
      )}
      <div className="item-actions">
        <button type="button" className="ghost small" disabled={rebuild.fetching || projection.state === 'rebuilding'}
          aria-label={t('projections.rebuildNamed', { name })} onClick={() => void startRebuild()}>{t('projections.rebuild')}</button>
        {projection.failedEventId && (
          <button type="button" className="ghost small danger" aria-expanded={parking} aria-label={t('projections.parkNamed', { name })}
            onClick={() => setParking(!parking)}>{t('projections.park')}</button>
        )}
      </div>
      {failure && <ErrorText error={failure.error} codes={failure.codes} />}
      {parking && projection.failedEventId && (
        <ParkForm name={name} busy={park.fetching} onSubmit={(event) => void submitPark(event)} onCancel={() => setParking(false)} />
      )}
    </li>
  );
}

function ParkForm({ name, busy, onSubmit, onCancel }: { name: string; busy: boolean; onSubmit(event: FormEvent<HTMLFormElement>): void; onCancel(): void }) {
  const { t } = useTranslation('admin');
  const id = useId();
  return (
    <form className="stack admin-inline-form" onSubmit={onSubmit} aria-label={t('projections.parkNamed', { name })}>
      <p className="hint">{t('projections.parkHint')}</p>
      <div className="field">
        <label htmlFor={id}>{t('projections.parkReason')}</label>
        <input id={id} name="reason" required maxLength={500} autoFocus onKeyDown={(event) => { if (event.key === 'Escape') onCancel(); }} />
      </div>
      <div className="row">
        <button type="submit" className="danger" disabled={busy}>{t('projections.confirmPark')}</button>
        <button type="button" className="ghost" onClick={onCancel}>{t('cancel')}</button>
      </div>
    </form>
  );
}
