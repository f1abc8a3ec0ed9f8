import { useId, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { formatTime } from './format.ts';
import { CreateApiKeyMutation, MyApiKeysQuery, RevokeApiKeyMutation, type MyApiKey } from './operations.ts';

const SCOPES = ['read', 'chat', 'documents', 'admin'] as const;
type Scope = (typeof SCOPES)[number];
const CONTEXT = { additionalTypenames: ['ApiKey'] };

export function ApiKeysSection({ admin }: { admin: boolean }) {
  const { t, i18n } = useTranslation('account');
  const [{ data, error, fetching }] = useQuery({ query: MyApiKeysQuery, context: useMemo(() => CONTEXT, []), requestPolicy: 'cache-and-network' });
  const [created, create] = useMutation(CreateApiKeyMutation);
  const [revoked, revoke] = useMutation(RevokeApiKeyMutation);
  const [shown, setShown] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [noScope, setNoScope] = useState(false);
  const ids = { name: useId(), key: useId(), keyHint: useId() };
  const scopes = SCOPES.filter((scope) => admin || scope !== 'admin');

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const values = new FormData(form);
    const chosen = values.getAll('scopes').map(String).filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope));
    setAnnouncement('');
    setNoScope(chosen.length === 0);
    if (chosen.length === 0) return;
    const result = await create({ name: String(values.get('name') ?? ''), scopes: chosen }, CONTEXT);
    if (!result.data) return;
    setCopied(null);
    setShown({ name: result.data.createApiKey.apiKey.name ?? '', key: result.data.createApiKey.key });
    form.reset();
  };
  const copy = async () => {
    if (!shown) return;
    try {
      await navigator.clipboard.writeText(shown.key);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
  };
  const end = async (key: MyApiKey, name: string) => {
    setAnnouncement('');
    const result = await revoke({ id: key.id }, CONTEXT);
    if (result.data) setAnnouncement(t('apiKeys.revoked', { name }));
  };
  const keys = data?.myApiKeys ?? [];

  return (
    <section aria-labelledby="account-api-keys">
      <h2 id="account-api-keys">{t('apiKeys.title')}</h2>
      <p className="muted">{t('apiKeys.intro')}</p>
      <ErrorText error={error ?? revoked.error} />
      <p role="status" className="success">{announcement}</p>
      {keys.length === 0 && !fetching && !error && <p className="muted">{t('apiKeys.none')}</p>}
      {keys.length > 0 && (
        <div className="table-wrap" role="group" aria-labelledby="account-api-keys" tabIndex={0}>
          <table className="api-keys stacked">
            <thead>
              <tr>
                <th scope="col">{t('apiKeys.name')}</th>
                <th scope="col">{t('apiKeys.prefix')}</th>
                <th scope="col">{t('apiKeys.scopes')}</th>
                <th scope="col">{t('apiKeys.created')}</th>
                <th scope="col">{t('apiKeys.lastUsed')}</th>
                <th scope="col"><span className="visually-hidden">{t('apiKeys.actions')}</span></th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => {
                const name = key.name ?? t('apiKeys.unnamed');
                return (
                  <tr key={key.id}>
                    <td className="wrap" data-label={t('apiKeys.name')}>{name}</td>
                    <td data-label={t('apiKeys.prefix')}><code>{key.prefix}…</code></td>
                    <td data-label={t('apiKeys.scopes')}>{key.scopes.map((scope) => t(`apiKeys.scope.${scope}`)).join(', ')}</td>
                    <td data-label={t('apiKeys.created')}><time dateTime={key.createdAt}>{formatTime(key.createdAt, i18n.language)}</time></td>
                    <td data-label={t('apiKeys.lastUsed')}>{key.lastUsedAt ? <time dateTime={key.lastUsedAt}>{formatTime(key.lastUsedAt, i18n.language)}</time> : t('apiKeys.never')}</td>
                    <td className="actions">
                      <button type="button" className="ghost small danger" disabled={revoked.fetching} onClick={() => void end(key, name)}
                        aria-label={t('apiKeys.revokeNamed', { name })}>{t('apiKeys.revoke')}</button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {shown && (
        <div className="notice stack created-key" role="group" aria-labelledby={ids.key}>
          <label htmlFor={ids.key}>{t('apiKeys.createdKey', { name: shown.name })}</label>
          <div className="copy-row">
            <input id={ids.key} readOnly value={shown.key} aria-describedby={ids.keyHint} className="mono" onFocus={(event) => event.currentTarget.select()} />
            <button type="button" onClick={() => void copy()}>{t('common:copy')}</button>
          </div>
          <p id={ids.keyHint}>{t('apiKeys.copyHint')}</p>
          <p role="status">{copied === 'yes' ? t('apiKeys.copied') : copied === 'no' ? t('apiKeys.copyFailed') : ''}</p>
          <div><button type="button" className="ghost" onClick={() => setShown(null)}>{t('apiKeys.done')}</button></div>
        </div>
      )}

      <form className="stack narrow" onSubmit={(event) => void submit(event)} aria-labelledby="account-api-keys-new">
        <h3 id="account-api-keys-new">{t('apiKeys.new')}</h3>
        <div className="field">
          <label htmlFor={ids.name}>{t('apiKeys.name')}</label>
          <input id={ids.name} name="name" required maxLength={100} autoComplete="off" />
        </div>
        <fieldset className="scopes">
          <legend>{t('apiKeys.scopes')}</legend>
          {scopes.map((scope) => (
            <label key={scope} className="checkbox">
              <input type="checkbox" name="scopes" value={scope} defaultChecked={scope === 'read'} />
              <span>{t(`apiKeys.scope.${scope}`)} <span className="muted">– {t(`apiKeys.scopeHint.${scope}`)}</span></span>
            </label>
          ))}
        </fieldset>
        <ErrorText error={noScope ? t('apiKeys.pickScope') : created.error} />
        <div><button type="submit" disabled={created.fetching}>{t('apiKeys.create')}</button></div>
      </form>
    </section>
  );
}
