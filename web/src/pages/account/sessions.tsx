import type { TFunction } from 'i18next';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { describeUserAgent, formatTime } from './format.ts';
import { MySessionsQuery, RevokeSessionMutation, type MySession } from './operations.ts';

export function SessionsSection({ version }: { version: number }) {
  const { t } = useTranslation('account');
  const [{ data, error, fetching }, refetch] = useQuery({ query: MySessionsQuery, requestPolicy: 'network-only' });
  const [revoked, revoke] = useMutation(RevokeSessionMutation);
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    if (version > 0) refetch({ requestPolicy: 'network-only' });
  }, [version, refetch]);

  const end = async (session: MySession, label: string) => {
    setAnnouncement('');
    const result = await revoke({ id: session.id });
    if (result.error) return;
    setAnnouncement(t('sessions.revoked', { device: label }));
    refetch({ requestPolicy: 'network-only' });
  };
  const sessions = data?.mySessions ?? [];
  return (
    <section aria-labelledby="account-sessions">
      <h2 id="account-sessions">{t('sessions.title')}</h2>
      <p className="muted">{t('sessions.intro')}</p>
      <ErrorText error={error ?? revoked.error} />
      <p role="status" className="success">{announcement}</p>
      {sessions.length === 0 && !fetching && !error && <p className="muted">{t('sessions.none')}</p>}
      {sessions.length > 0 && (
        <div className="table-wrap" role="group" aria-labelledby="account-sessions" tabIndex={0}>
          <table className="sessions stacked">
            <thead>
              <tr>
                <th scope="col">{t('sessions.device')}</th>
                <th scope="col">{t('sessions.from')}</th>
                <th scope="col">{t('sessions.started')}</th>
                <th scope="col">{t('sessions.expires')}</th>
                <th scope="col"><span className="visually-hidden">{t('sessions.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((session) => <SessionRow key={session.id} session={session} busy={revoked.fetching} onRevoke={end} />)}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SessionRow({ session, busy, onRevoke }: { session: MySession; busy: boolean; onRevoke(session: MySession, label: string): void }) {
  const { t, i18n } = useTranslation('account');
  const label = deviceLabel(session.userAgent, t);
  const started = formatTime(session.startedAt, i18n.language);
  return (
    <tr className={session.current ? 'current' : undefined} data-current={session.current || undefined}>
      <td data-label={t('sessions.device')}>
        <span className="device">{label}</span>
        {session.current && <> <span className="badge">{t('sessions.thisSession')}</span></>}
        {session.userAgent && <span className="user-agent muted">{session.userAgent}</span>}
      </td>
      <td data-label={t('sessions.from')}>{session.clientAddress ?? t('sessions.unknown')}</td>
      <td data-label={t('sessions.started')}><time dateTime={session.startedAt}>{started}</time></td>
      <td data-label={t('sessions.expires')}><time dateTime={session.expiresAt}>{formatTime(session.expiresAt, i18n.language)}</time></td>
      <td className="actions">
        {!session.current && (
          <button type="button" className="ghost small danger" disabled={busy} onClick={() => onRevoke(session, label)}
            aria-label={t('sessions.revokeNamed', { device: label, started })}>
            {t('sessions.revoke')}
          </button>
        )}
      </td>
    </tr>
  );
}

function deviceLabel(userAgent: string | null, t: TFunction<'account'>): string {
  if (!userAgent) return t('sessions.unknownDevice');
  const { browser, os } = describeUserAgent(userAgent);
  if (browser && os) return t('sessions.browserOn', { browser, os });
  return browser ?? os ?? t('sessions.unknownDevice');
}
