import { useTranslation } from 'react-i18next';
import type { CombinedError } from 'urql';
import { errorCode, errorMessage } from '../client.ts';

/** A GraphQL error for people: the translation of its stable code, else the server's message. */
/** `codes` gives some codes a meaning of their own here (UNAUTHENTICATED at sign-in is a wrong password, not an ended session). */
export function ErrorText({ error, id, codes }: { error: CombinedError | Error | string | null | undefined; id?: string; codes?: Record<string, string> }) {
  const { t } = useTranslation();
  if (!error) return null;
  let text: string;
  if (typeof error === 'string') text = error;
  else if ('graphQLErrors' in error) {
    const code = errorCode(error);
    const message = errorMessage(error) ?? '';
    // Input errors name the field and the rule; the server's words are the most precise there.
    if (code && codes?.[code]) text = codes[code];
    else if (code === 'NETWORK') text = t('errors.NETWORK');
    else if (code === 'BAD_USER_INPUT') text = message;
    else text = t(`errors.${code}`, { defaultValue: message });
  } else text = error.message;
  return <p className="error" role="alert" id={id}>{text}</p>;
}
