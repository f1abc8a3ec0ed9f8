import { createContext, useCallback, useContext, useMemo, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf } from './graphql.ts';

export const MeQuery = graphql(`
  query Me { me { id email displayName role } }
`);

const LogoutMutation = graphql(`mutation Logout { logout }`);

export type Viewer = NonNullable<ResultOf<typeof MeQuery>['me']>;

interface Session {
  viewer: Viewer | null;
  loading: boolean;
  /** Hands a token from login/register/changePassword to the server, which keeps it in an HttpOnly cookie. */
  signIn(token: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export async function storeSessionCookie(token: string): Promise<void> {
  const response = await fetch('/session', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
  });
  if (!response.ok) throw new Error(`The session could not be stored (${response.status})`);
}

export function SessionProvider({ children, onSignedOut }: { children: ReactNode; onSignedOut(): void }) {
  const [{ data, fetching }, refetch] = useQuery({ query: MeQuery, requestPolicy: 'network-only' });
  const [, logout] = useMutation(LogoutMutation);
  const signIn = useCallback(async (token: string) => {
    await storeSessionCookie(token);
    refetch({ requestPolicy: 'network-only' });
  }, [refetch]);
  const signOut = useCallback(async () => {
    await logout({});
    await fetch('/session', { method: 'DELETE', credentials: 'same-origin' });
    onSignedOut();
  }, [logout, onSignedOut]);
  const value = useMemo<Session>(() => ({ viewer: data?.me ?? null, loading: fetching && !data, signIn, signOut }), [data, fetching, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
