import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useMutation, useQuery } from 'urql';
import { ErrorText } from '../components/error-text.tsx';
import { graphql } from '../graphql.ts';
import { useSession } from '../session.tsx';

const SignupPolicyQuery = graphql(`query SignupPolicy { signupPolicy { mode } }`);
const LoginMutation = graphql(`
  mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token } }
`);
const RegisterMutation = graphql(`
  mutation Register($email: String!, $password: String!, $displayName: String!, $inviteCode: String) {
    register(email: $email, password: $password, displayName: $displayName, inviteCode: $inviteCode) { id }
  }
`);

export function AuthPage() {
  const { t } = useTranslation('auth');
  const [mode, setMode] = useState<'signIn' | 'register'>('signIn');
  return (
    <section className="page auth">
      <h1>{mode === 'signIn' ? t('signInTitle') : t('registerTitle')}</h1>
      {mode === 'signIn' ? <SignInForm /> : <RegisterForm />}
      <p>
        <button type="button" className="link" onClick={() => setMode(mode === 'signIn' ? 'register' : 'signIn')}>
          {mode === 'signIn' ? t('toRegister') : t('toSignIn')}
        </button>
      </p>
    </section>
  );
}

function Field({ label, ...input }: { label: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} />
    </div>
  );
}

function SignInForm() {
  const { t } = useTranslation('auth');
  const { signIn } = useSession();
  const [{ fetching, error }, login] = useMutation(LoginMutation);
  const [failure, setFailure] = useState<Error | null>(null);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = await login({ email: String(form.get('email')), password: String(form.get('password')) });
    if (result.data) await signIn(result.data.login.token).catch(setFailure);
  };
  return (
    <form onSubmit={(event) => void submit(event)} className="stack">
      <Field label={t('email')} name="email" type="email" autoComplete="username" required maxLength={320} />
      <Field label={t('password')} name="password" type="password" autoComplete="current-password" required maxLength={1024} />
      <ErrorText error={error ?? failure} codes={{ UNAUTHENTICATED: t('invalidLogin') }} />
      <button type="submit" disabled={fetching}>{t('signIn')}</button>
    </form>
  );
}

function RegisterForm() {
  const { t } = useTranslation('auth');
  const { signIn } = useSession();
  const [{ data: policy }] = useQuery({ query: SignupPolicyQuery });
  const [registration, register] = useMutation(RegisterMutation);
  const [signedIn, login] = useMutation(LoginMutation);
  const [failure, setFailure] = useState<Error | null>(null);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email'));
    const password = String(form.get('password'));
    const inviteCode = form.get('inviteCode');
    const result = await register({ email, password, displayName: String(form.get('displayName')), inviteCode: inviteCode ? String(inviteCode) : null });
    if (!result.data) return;
    const session = await login({ email, password });
    if (session.data) await signIn(session.data.login.token).catch(setFailure);
  };
  const mode = policy?.signupPolicy.mode;
  return (
    <form onSubmit={(event) => void submit(event)} className="stack">
      {mode === 'closed' && <p className="notice">{t('signupClosed')}</p>}
      <Field label={t('displayName')} name="displayName" autoComplete="name" required maxLength={100} />
      <Field label={t('email')} name="email" type="email" autoComplete="email" required maxLength={320} />
      <Field label={t('password')} name="password" type="password" autoComplete="new-password" required minLength={8} maxLength={1024}
        aria-describedby="password-hint" />
      <p id="password-hint" className="hint">{t('passwordHint')}</p>
      {mode === 'invite_only' && <Field label={t('inviteCode')} name="inviteCode" required maxLength={200} />}
      <ErrorText error={registration.error ?? signedIn.error ?? failure} codes={{ UNAUTHENTICATED: t('invalidLogin') }} />
      <button type="submit" disabled={registration.fetching || signedIn.fetching}>{t('register')}</button>
    </form>
  );
}
