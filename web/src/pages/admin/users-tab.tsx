import { useDeferredValue, useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery, type CombinedError } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { useSession } from '../../session.tsx';
import { copyText, formatTime } from './format.ts';
import {
  ChangeUserRoleMutation, DeactivateUserMutation, EraseUserMutation, IssuePasswordResetMutation, ReactivateUserMutation, UsersQuery,
  type AdminUser,
} from './operations.ts';

const PAGE_SIZE = 20;
/** eraseUser returns only an id: name the type, so the list is fetched again without the person. */
const USER_CONTEXT = { additionalTypenames: ['User'] };
type Role = 'admin' | 'member';
type Status = 'active' | 'deactivated';

export function UsersTab() {
  const { t } = useTranslation('admin');
  const { viewer } = useSession();
  const [search, setSearch] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const [status, setStatus] = useState<Status | ''>('');
  // The `after` cursor of every page up to the one shown (the first page has none).
  const [pages, setPages] = useState<string[]>([]);
  const [message, setMessage] = useState('');
  const searchId = useId();
  const roleId = useId();
  const statusId = useId();
  const query = useDeferredValue(search.trim());
  const context = useMemo(() => USER_CONTEXT, []);
  const [{ data, fetching, error }] = useQuery({
    query: UsersQuery,
    variables: { search: query || null, role: role || null, status: status || null, first: PAGE_SIZE, after: pages.at(-1) ?? null },
    requestPolicy: 'cache-and-network',
    context,
  });
  const users = data?.users.edges.map((edge) => edge.node) ?? [];
  const pageInfo = data?.users.pageInfo;
  const filtered = (change: () => void) => {
    change();
    setPages([]);
  };

  return (
    <div className="stack">
      <h2>{t('users.title')}</h2>
      <form className="row admin-filters" role="search" aria-label={t('users.filters')} onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor={searchId}>{t('users.search')}</label>
          <input id={searchId} type="search" value={search} maxLength={200} onChange={(event) => filtered(() => setSearch(event.target.value))} />
        </div>
        <div className="field">
          <label htmlFor={roleId}>{t('users.role')}</label>
          <select id={roleId} value={role} onChange={(event) => filtered(() => setRole(event.target.value as Role | ''))}>
            <option value="">{t('users.anyRole')}</option>
            <option value="admin">{t('roles.admin')}</option>
            <option value="member">{t('roles.member')}</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={statusId}>{t('users.status')}</label>
          <select id={statusId} value={status} onChange={(event) => filtered(() => setStatus(event.target.value as Status | ''))}>
            <option value="">{t('users.anyStatus')}</option>
            <option value="active">{t('statuses.active')}</option>
            <option value="deactivated">{t('statuses.deactivated')}</option>
          </select>
        </div>
      </form>
      <p role="status" className="admin-message">{message}</p>
      <ErrorText error={error} />
      {fetching && !data && <p className="muted">{t('loading')}</p>}
      {data && users.length === 0 && <p className="muted">{query || role || status ? t('users.noMatches') : t('users.none')}</p>}
      <ul className="user-list" aria-label={t('users.listLabel', { page: pages.length + 1 })}>
        {users.map((user) => <UserItem key={user.id} user={user} self={user.id === viewer?.id} announce={setMessage} />)}
      </ul>
      {(pages.length > 0 || pageInfo?.hasNextPage) && (
        <nav className="pager" aria-label={t('users.pages')}>
          <button type="button" className="ghost" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>{t('previousPage')}</button>
          <span>{t('pageNumber', { page: pages.length + 1 })}</span>
          <button type="button" className="ghost" disabled={!pageInfo?.hasNextPage || !pageInfo.endCursor}
            onClick={() => pageInfo?.endCursor && setPages([...pages, pageInfo.endCursor])}>{t('nextPage')}</button>
        </nav>
      )}
    </div>
  );
}

interface Failure { error: CombinedError; codes?: Record<string, string> }

function UserItem({ user, self, announce }: { user: AdminUser; self: boolean; announce(message: string): void }) {
  const { t, i18n } = useTranslation('admin');
  const [open, setOpen] = useState<'deactivate' | 'erase' | null>(null);
  const [reset, setReset] = useState<{ token: string; expiresAt: string } | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [deactivation, deactivate] = useMutation(DeactivateUserMutation);
  const [reactivation, reactivate] = useMutation(ReactivateUserMutation);
  const [roleChange, changeRole] = useMutation(ChangeUserRoleMutation);
  const [resetIssue, issueReset] = useMutation(IssuePasswordResetMutation);
  const [erasure, erase] = useMutation(EraseUserMutation);
  const name = user.displayName || user.email || user.id;
  const busy = deactivation.fetching || reactivation.fetching || roleChange.fetching || resetIssue.fetching || erasure.fetching;

  const outcome = (error: CombinedError | undefined, done: string, codes?: Record<string, string>) => {
    setFailure(error ? { error, codes } : null);
    if (!error) announce(done);
    return !error;
  };

  const submitDeactivate = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get('reason') ?? '').trim();
    const result = await deactivate({ id: user.id, reason: reason || null });
    if (outcome(result.error, t('users.deactivated', { name }), { CONFLICT: t('users.errors.deactivateSelf') })) setOpen(null);
  };
  const doReactivate = async () => {
    const result = await reactivate({ id: user.id });
    outcome(result.error, t('users.reactivated', { name }), { CONFLICT: t('users.errors.reactivateErased') });
  };
  const doChangeRole = async () => {
    const role = user.role === 'admin' ? 'member' : 'admin';
    if (self && role === 'member' && !window.confirm(t('users.confirmDemoteSelf'))) return;
    const result = await changeRole({ id: user.id, role });
    outcome(result.error, t('users.roleChanged', { name, role: t(`roles.${role}`) }), { CONFLICT: t('users.errors.lastAdmin') });
  };
  const doIssueReset = async () => {
    const result = await issueReset({ userId: user.id });
    if (outcome(result.error, t('users.resetIssued', { name }), { CONFLICT: t('users.errors.inactive') }) && result.data) {
      setReset({ token: result.data.issuePasswordReset.token, expiresAt: result.data.issuePasswordReset.expiresAt });
    }
  };
  const submitErase = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const result = await erase({ id: user.id }, USER_CONTEXT);
    outcome(result.error, t('users.erased', { name }), { LEGAL_HOLD: t('users.errors.legalHold') });
  };

  return (
    <li className="user-item">
      <div className="user-head">
        <h3 className="user-name">{user.displayName || <span className="muted">{t('users.noName')}</span>}</h3>
        <span className={`badge ${user.active ? '' : 'badge-warn'}`}>{user.active ? t('statuses.active') : t('statuses.deactivated')}</span>
        <span className="badge">{t(`roles.${user.role}`)}</span>
        {self && <span className="badge">{t('users.you')}</span>}
      </div>
      <dl className="user-facts">
        <dt>{t('users.email')}</dt><dd className="wrap-anywhere">{user.email ?? '—'}</dd>
        <dt>{t('users.registeredAt')}</dt><dd><time dateTime={user.registeredAt}>{formatTime(user.registeredAt, i18n.language)}</time></dd>
      </dl>
      <div className="item-actions">
        {user.active
          ? !self && <button type="button" className="ghost small" disabled={busy} aria-expanded={open === 'deactivate'}
            aria-label={t('users.deactivateNamed', { name })} onClick={() => setOpen(open === 'deactivate' ? null : 'deactivate')}>{t('users.deactivate')}</button>
          : <button type="button" className="ghost small" disabled={busy} aria-label={t('users.reactivateNamed', { name })}
            onClick={() => void doReactivate()}>{t('users.reactivate')}</button>}
        <button type="button" className="ghost small" disabled={busy || !user.active}
          aria-label={t(user.role === 'admin' ? 'users.makeMemberNamed' : 'users.makeAdminNamed', { name })}
          onClick={() => void doChangeRole()}>{t(user.role === 'admin' ? 'users.makeMember' : 'users.makeAdmin')}</button>
        <button type="button" className="ghost small" disabled={busy || !user.active} aria-label={t('users.issueResetNamed', { name })}
          onClick={() => void doIssueReset()}>{t('users.issueReset')}</button>
        {!self && <button type="button" className="ghost small danger" disabled={busy} aria-expanded={open === 'erase'}
          aria-label={t('users.eraseNamed', { name })} onClick={() => setOpen(open === 'erase' ? null : 'erase')}>{t('users.erase')}</button>}
      </div>
      {failure && <ErrorText error={failure.error} codes={failure.codes} />}
      {reset && <ResetToken name={name} token={reset.token} expiresAt={reset.expiresAt} onDone={() => setReset(null)} />}
      {open === 'deactivate' && (
        <DeactivateForm name={name} busy={deactivation.fetching} onSubmit={(event) => void submitDeactivate(event)} onCancel={() => setOpen(null)} />
      )}
      {open === 'erase' && (
        <EraseForm name={name} expected={user.email ?? user.id} busy={erasure.fetching} onSubmit={(event) => void submitErase(event)} onCancel={() => setOpen(null)} />
      )}
    </li>
  );
}

function DeactivateForm({ name, busy, onSubmit, onCancel }: { name: string; busy: boolean; onSubmit(event: FormEvent<HTMLFormElement>): void; onCancel(): void }) {
  const { t } = useTranslation('admin');
  const id = useId();
  return (
    <form className="stack admin-inline-form" onSubmit={onSubmit} aria-label={t('users.deactivateNamed', { name })}>
      <div className="field">
        <label htmlFor={id}>{t('users.reason')}</label>
        <input id={id} name="reason" maxLength={500} autoFocus onKeyDown={(event) => { if (event.key === 'Escape') onCancel(); }} />
      </div>
      <p className="hint">{t('users.deactivateHint')}</p>
      <div className="row">
        <button type="submit" className="danger" disabled={busy}>{t('users.confirmDeactivate')}</button>
        <button type="button" className="ghost" onClick={onCancel}>{t('cancel')}</button>
      </div>
    </form>
  );
}

function EraseForm({ name, expected, busy, onSubmit, onCancel }: { name: string; expected: string; busy: boolean; onSubmit(event: FormEvent<HTMLFormElement>): void; onCancel(): void }) {
  const { t } = useTranslation('admin');
  const [typed, setTyped] = useState('');
  const id = useId();
  const hintId = useId();
  const matches = typed.trim() === expected;
  return (
    <form className="stack admin-inline-form" onSubmit={(event) => (matches ? onSubmit(event) : event.preventDefault())} aria-label={t('users.eraseNamed', { name })}>
      <p id={hintId} className="notice">{t('users.eraseWarning', { name })}</p>
      <div className="field">
        <label htmlFor={id}>{t('users.typeToConfirm', { expected })}</label>
        <input id={id} value={typed} onChange={(event) => setTyped(event.target.value)} aria-describedby={hintId} autoComplete="off" spellCheck={false} autoFocus
          onKeyDown={(event) => { if (event.key === 'Escape') onCancel(); }} />
      </div>
      <div className="row">
        <button type="submit" className="danger" disabled={busy || !matches}>{t('users.confirmErase')}</button>
        <button type="button" className="ghost" onClick={onCancel}>{t('cancel')}</button>
      </div>
    </form>
  );
}

function ResetToken({ name, token, expiresAt, onDone }: { name: string; token: string; expiresAt: string; onDone(): void }) {
  const { t, i18n } = useTranslation('admin');
  const [copied, setCopied] = useState(false);
  const copy = async () => setCopied(await copyText(token));
  return (
    <div className="notice stack admin-secret">
      <p>{t('users.resetToken', { name, expiresAt: formatTime(expiresAt, i18n.language) })}</p>
      <code className="secret">{token}</code>
      <div className="row">
        <button type="button" className="ghost small" onClick={() => void copy()}>{copied ? t('copied') : t('copy')}</button>
        <button type="button" className="ghost small" onClick={onDone}>{t('users.resetDone')}</button>
      </div>
    </div>
  );
}
