import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation } from 'urql';
import { useLocation } from 'wouter';
import { ErrorText } from '../../components/error-text.tsx';
import { useSession, type Viewer } from '../../session.tsx';
import { EraseUserMutation } from './operations.ts';

const normalise = (email: string) => email.trim().toLowerCase();

/** The danger zone: erasing your own account, confirmed by typing your email. */
export function DeleteAccountSection({ viewer }: { viewer: Viewer }) {
  const { t } = useTranslation('account');
  const { signOut } = useSession();
  const [, navigate] = useLocation();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [erased, erase] = useMutation(EraseUserMutation);
  const ids = { email: useId(), warning: useId() };
  const start = useRef<HTMLButtonElement>(null);
  const [cancelled, setCancelled] = useState(false);
  // Back from the confirmation, the keyboard focus returns to the button that opened it.
  useEffect(() => {
    if (cancelled && !confirming) start.current?.focus();
  }, [cancelled, confirming]);
  const email = viewer.email ?? '';
  const matches = email !== '' && normalise(typed) === normalise(email);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!matches) return;
    const result = await erase({ id: viewer.id });
    if (result.error) return;
    // The account is gone, its sessions with it: drop the cookie and start over at the sign-in form.
    try {
      await signOut();
      navigate('/', { replace: true });
    } catch {
      await fetch('/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
      window.location.assign('/');
    }
  };
  const cancel = () => {
    setConfirming(false);
    setCancelled(true);
    setTyped('');
  };

  return (
    <section aria-labelledby="account-delete" className="danger-zone">
      <h2 id="account-delete">{t('delete.title')}</h2>
      <p id={ids.warning}>{t('delete.intro')}</p>
      {!confirming ? (
        <div>
          <button ref={start} type="button" className="danger" onClick={() => setConfirming(true)}>{t('delete.start')}</button>
        </div>
      ) : (
        <form className="stack narrow" onSubmit={(event) => void submit(event)} aria-labelledby="account-delete">
          <p className="notice">{t('delete.consequences')}</p>
          <div className="field">
            <label htmlFor={ids.email}>{t('delete.typeEmail', { email })}</label>
            <input id={ids.email} type="email" autoComplete="off" spellCheck={false} value={typed} autoFocus
              onChange={(event) => setTyped(event.target.value)} aria-describedby={ids.warning} />
          </div>
          <ErrorText error={erased.error} codes={{ LEGAL_HOLD: t('delete.legalHold') }} />
          <div className="row">
            <button type="submit" className="danger" disabled={!matches || erased.fetching}>{t('delete.confirm')}</button>
            <button type="button" className="ghost" onClick={cancel} disabled={erased.fetching}>{t('delete.cancel')}</button>
          </div>
        </form>
      )}
    </section>
  );
}
