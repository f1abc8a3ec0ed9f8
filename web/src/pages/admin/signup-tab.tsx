import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { copyText, formatTime, localToIso, shortId } from './format.ts';
import { CreateInviteMutation, InvitesQuery, RevokeInviteMutation, SetSignupPolicyMutation, SignupPolicyQuery, type InviteView } from './operations.ts';

const MODES = ['open', 'invite_only', 'closed'] as const;
type Mode = (typeof MODES)[number];
const PAGE_SIZE = 20;
const INVITE_CONTEXT = { additionalTypenames: ['Invite'] };

export function SignupTab() {
  const { t } = useTranslation('admin');
  return (
    <div className="stack">
      <h2>{t('signup.title')}</h2>
      <SignupPolicyForm />
      <h2>{t('invites.title')}</h2>
      <CreateInvite />
      <InviteList />
    </div>
  );
}

function SignupPolicyForm() {
  const { t, i18n } = useTranslation('admin');
  const [{ data, error }] = useQuery({ query: SignupPolicyQuery, requestPolicy: 'network-only' });
  const [saving, save] = useMutation(SetSignupPolicyMutation);
  const [mode, setMode] = useState<Mode | null>(null);
  const [message, setMessage] = useState('');
  const current = data?.signupPolicy.mode;
  useEffect(() => { if (current && mode === null) setMode(current); }, [current, mode]);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!mode) return;
    const result = await save({ mode });
    setMessage(result.data ? t('signup.saved', { mode: t(`signup.modes.${mode}`) }) : '');
  };
  return (
    <form className="stack" onSubmit={(event) => void submit(event)}>
      <fieldset className="stack admin-fieldset">
        <legend>{t('signup.legend')}</legend>
        {MODES.map((value) => (
          <label key={value} className="checkbox">
            <input type="radio" name="signup-mode" value={value} checked={mode === value} onChange={() => setMode(value)} />
            <span><strong>{t(`signup.modes.${value}`)}</strong> <span className="muted">{t(`signup.describe.${value}`)}</span></span>
          </label>
        ))}
      </fieldset>
      {data?.signupPolicy.updatedAt && <p className="muted">{t('signup.updatedAt', { time: formatTime(data.signupPolicy.updatedAt, i18n.language) })}</p>}
      <ErrorText error={error ?? saving.error} />
      <p role="status" className="admin-message">{message}</p>
      <div><button type="submit" disabled={!mode || saving.fetching || mode === current}>{t('signup.save')}</button></div>
    </form>
  );
}

function CreateInvite() {
  const { t, i18n } = useTranslation('admin');
  const [creation, create] = useMutation(CreateInviteMutation);
  const [code, setCode] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const expiresId = useId();
  const usesId = useId();
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const element = event.currentTarget;
    const form = new FormData(element);
    const maxUses = String(form.get('maxUses') ?? '').trim();
    const result = await create({ expiresAt: localToIso(String(form.get('expiresAt') ?? '')), maxUses: maxUses ? Number(maxUses) : null }, INVITE_CONTEXT);
    if (result.data) {
      setCode(result.data.createInvite.code);
      setCopied(false);
      element.reset();
    }
  };
  return (
    <div className="stack">
      <form className="stack" onSubmit={(event) => void submit(event)} aria-label={t('invites.create')}>
        <div className="row">
          <div className="field">
            <label htmlFor={expiresId}>{t('invites.expiresAt')}</label>
            <input id={expiresId} name="expiresAt" type="datetime-local" />
          </div>
          <div className="field">
            <label htmlFor={usesId}>{t('invites.maxUses')}</label>
            <input id={usesId} name="maxUses" type="number" min={1} max={1000000} step={1} inputMode="numeric" />
          </div>
        </div>
        <p className="hint">{t('invites.optional', { now: formatTime(new Date().toISOString(), i18n.language) })}</p>
        <ErrorText error={creation.error} />
        <div><button type="submit" disabled={creation.fetching}>{t('invites.create')}</button></div>
      </form>
      {code && (
        <div className="notice stack admin-secret" role="status">
          <p>{t('invites.code')}</p>
          <code className="secret">{code}</code>
          <div className="row">
            <button type="button" className="ghost small" onClick={() => void copyText(code).then(setCopied)}>
              {copied ? t('copied') : t('copy')}
            </button>
            <button type="button" className="ghost small" onClick={() => setCode(null)}>{t('invites.done')}</button>
          </div>
        </div>
      )}
    </div>
  );
}

function InviteList() {
  const { t } = useTranslation('admin');
  const [usableOnly, setUsableOnly] = useState(false);
  const [pages, setPages] = useState<string[]>([]);
  const context = useMemo(() => INVITE_CONTEXT, []);
  const [{ data, error, fetching }] = useQuery({
    query: InvitesQuery, variables: { usableOnly, first: PAGE_SIZE, after: pages.at(-1) ?? null }, requestPolicy: 'cache-and-network', context,
  });
  const invites = data?.invites.edges.map((edge) => edge.node) ?? [];
  const pageInfo = data?.invites.pageInfo;
  return (
    <div className="stack">
      <label className="checkbox">
        <input type="checkbox" checked={usableOnly} onChange={(event) => { setUsableOnly(event.target.checked); setPages([]); }} />
        {t('invites.usableOnly')}
      </label>
      <ErrorText error={error} />
      {fetching && !data && <p className="muted">{t('loading')}</p>}
      {data && invites.length === 0 && <p className="muted">{t('invites.none')}</p>}
      {invites.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t('invites.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('invites.id')}</th>
                <th scope="col">{t('invites.createdAt')}</th>
                <th scope="col">{t('invites.expires')}</th>
                <th scope="col">{t('invites.uses')}</th>
                <th scope="col">{t('invites.state')}</th>
                <th scope="col"><span className="visually-hidden">{t('invites.actions')}</span></th>
              </tr>
            </thead>
            <tbody>{invites.map((invite) => <InviteRow key={invite.id} invite={invite} />)}</tbody>
          </table>
        </div>
      )}
      {(pages.length > 0 || pageInfo?.hasNextPage) && (
        <nav className="pager" aria-label={t('invites.pages')}>
          <button type="button" className="ghost" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>{t('previousPage')}</button>
          <span>{t('pageNumber', { page: pages.length + 1 })}</span>
          <button type="button" className="ghost" disabled={!pageInfo?.hasNextPage || !pageInfo.endCursor}
            onClick={() => pageInfo?.endCursor && setPages([...pages, pageInfo.endCursor])}>{t('nextPage')}</button>
        </nav>
      )}
    </div>
  );
}

function InviteRow({ invite }: { invite: InviteView }) {
  const { t, i18n } = useTranslation('admin');
  const [revocation, revoke] = useMutation(RevokeInviteMutation);
  const name = shortId(invite.id);
  const state = invite.revokedAt ? t('invites.revoked') : invite.usable ? t('invites.usable') : t('invites.spent');
  return (
    <tr>
      <td><code title={invite.id}>{name}</code></td>
      <td>{formatTime(invite.createdAt, i18n.language)}</td>
      <td>{invite.expiresAt ? formatTime(invite.expiresAt, i18n.language) : t('invites.never')}</td>
      <td>{invite.maxUses === null ? t('invites.usesUnlimited', { uses: invite.uses }) : t('invites.usesOf', { uses: invite.uses, max: invite.maxUses })}</td>
      <td>{state}</td>
      <td>
        {!invite.revokedAt && (
          <button type="button" className="ghost small danger" disabled={revocation.fetching} aria-label={t('invites.revokeNamed', { name })}
            onClick={() => { if (window.confirm(t('invites.confirmRevoke', { name }))) void revoke({ id: invite.id }); }}>{t('invites.revoke')}</button>
        )}
        <ErrorText error={revocation.error} />
      </td>
    </tr>
  );
}
