import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation } from 'urql';
import { ErrorText } from '../../components/error-text.tsx';
import { storeSessionCookie } from '../../session.tsx';
import { ChangePasswordMutation } from './operations.ts';

export function PasswordSection({ onChanged }: { onChanged(): void }) {
  const { t } = useTranslation('account');
  const [result, change] = useMutation(ChangePasswordMutation);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const ids = { current: useId(), next: useId(), repeat: useId(), hint: useId() };

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const newPassword = String(data.get('newPassword') ?? '');
    setDone(false);
    setProblem(null);
    if (newPassword !== String(data.get('repeatPassword') ?? '')) return setProblem(t('password.mismatch'));
    const answer = await change({ currentPassword: String(data.get('currentPassword') ?? ''), newPassword });
    if (!answer.data) return;
    // The change ended this session too: the new token keeps the person signed in.
    try {
      await storeSessionCookie(answer.data.changePassword.token);
    } catch {
      return setProblem(t('password.notStored'));
    }
    form.reset();
    setDone(true);
    onChanged();
  };

  return (
    <section aria-labelledby="account-password">
      <h2 id="account-password">{t('password.title')}</h2>
      <form className="stack narrow" onSubmit={(event) => void submit(event)}>
        <div className="field">
          <label htmlFor={ids.current}>{t('password.current')}</label>
          <input id={ids.current} name="currentPassword" type="password" autoComplete="current-password" required maxLength={1024} />
        </div>
        <div className="field">
          <label htmlFor={ids.next}>{t('password.new')}</label>
          <input id={ids.next} name="newPassword" type="password" autoComplete="new-password" required minLength={8} maxLength={1024} aria-describedby={ids.hint} />
        </div>
        <p id={ids.hint} className="hint">{t('password.hint')}</p>
        <div className="field">
          <label htmlFor={ids.repeat}>{t('password.repeat')}</label>
          <input id={ids.repeat} name="repeatPassword" type="password" autoComplete="new-password" required minLength={8} maxLength={1024} />
        </div>
        <ErrorText error={problem ?? result.error} codes={{ UNAUTHENTICATED: t('password.wrongCurrent') }} />
        <p role="status" className="success">{done ? t('password.changed') : ''}</p>
        <div><button type="submit" disabled={result.fetching}>{t('password.submit')}</button></div>
      </form>
    </section>
  );
}
