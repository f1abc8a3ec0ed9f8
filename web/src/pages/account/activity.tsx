import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClient, type CombinedError } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { formatTime, humanizeType } from './format.ts';
import { MyActivityQuery, type ActivityEvent } from './operations.ts';

export const ACTIVITY_PAGE_SIZE = 20;

interface Loaded { events: ActivityEvent[]; endCursor: string | null; hasNextPage: boolean }

/** Your events, newest first: the first page on opening (and on Refresh), older ones a page at a time. */
export function ActivitySection({ version, viewerId }: { version: number; viewerId: string }) {
  const { t, i18n } = useTranslation('account');
  const client = useClient();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [fetching, setFetching] = useState(false);
  const [error, setError] = useState<CombinedError | null>(null);
  const generation = useRef(0);

  const load = useCallback(async (after: string | null) => {
    const mine = after === null ? ++generation.current : generation.current;
    setFetching(true);
    const result = await client.query(MyActivityQuery, { first: ACTIVITY_PAGE_SIZE, after }, { requestPolicy: 'network-only' }).toPromise();
    if (mine !== generation.current) return; // a refresh started meanwhile
    setFetching(false);
    setError(result.error ?? null);
    const page = result.data?.myActivity;
    if (!page) return;
    setLoaded((previous) => {
      const earlier = after === null ? [] : previous?.events ?? [];
      const seen = new Set(earlier.map((event) => event.eventId));
      return {
        events: [...earlier, ...page.edges.map((edge) => edge.node).filter((event) => !seen.has(event.eventId))],
        endCursor: page.pageInfo.endCursor ?? null,
        hasNextPage: page.pageInfo.hasNextPage,
      };
    });
  }, [client]);

  useEffect(() => {
    void load(null);
  }, [load, version]);

  const actor = (event: ActivityEvent) => {
    if (event.actorId === null) return t('activity.actors.system');
    return event.actorId === viewerId ? t('activity.actors.you') : t('activity.actors.admin');
  };
  const events = loaded?.events ?? [];
  return (
    <section aria-labelledby="account-activity">
      <div className="section-header">
        <h2 id="account-activity">{t('activity.title')}</h2>
        <button type="button" className="ghost small" onClick={() => void load(null)} disabled={fetching}>{t('activity.refresh')}</button>
      </div>
      <p className="muted">{t('activity.intro')}</p>
      <ErrorText error={error} />
      {loaded && events.length === 0 && <p className="muted">{t('activity.none')}</p>}
      {events.length > 0 && (
        <div className="table-wrap" role="group" aria-labelledby="account-activity" tabIndex={0}>
          <table className="activity">
            <thead>
              <tr>
                <th scope="col">{t('activity.time')}</th>
                <th scope="col">{t('activity.event')}</th>
                <th scope="col">{t('activity.actor')}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.eventId} data-type={event.type}>
                  <td>{event.occurredAt ? <time dateTime={event.occurredAt}>{formatTime(event.occurredAt, i18n.language)}</time> : '–'}</td>
                  <td>{t(`activity.types.${event.type}`, { defaultValue: humanizeType(event.type) })}</td>
                  <td>{actor(event)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p role="status" className="muted">{fetching ? t('activity.loading') : loaded ? t('activity.shown', { count: events.length }) : ''}</p>
      {loaded?.hasNextPage && (
        <div><button type="button" className="ghost" disabled={fetching} onClick={() => void load(loaded.endCursor)}>{t('activity.loadMore')}</button></div>
      )}
    </section>
  );
}
