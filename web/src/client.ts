import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, type CombinedError, type Operation } from 'urql';

/**
 * Everything goes to the server that served the page: queries and mutations as JSON POSTs,
 * subscriptions over server-sent events (graphql-sse, distinct connections). The session rides in
 * the HttpOnly cookie set by POST /session (see session.tsx), so no token is ever held by script.
 */
export const GRAPHQL_URL = '/graphql';

export function createSubscriptionClient(): SseClient {
  return createSseClient({ url: GRAPHQL_URL, credentials: 'same-origin', retryAttempts: 0 });
}

/** Operations whose UNAUTHENTICATED means a wrong password, not an ended session. */
const PASSWORD_CHECKS = new Set(['Login', 'Register', 'ChangePassword']);

function operationName(operation: Operation): string | undefined {
  for (const definition of operation.query.definitions) {
    if (definition.kind === 'OperationDefinition') return definition.name?.value;
  }
  return undefined;
}

/**
 * `onSessionEnded` runs when the server answers UNAUTHENTICATED to someone who was signed in (the
 * session expired, was revoked or ended elsewhere): the app then shows the sign-in form at once
 * instead of failing request by request.
 */
export function createGraphQLClient(onSessionEnded: () => void = () => {}): Client {
  const sse = createSubscriptionClient();
  return new Client({
    url: GRAPHQL_URL,
    fetchOptions: { credentials: 'same-origin' },
    preferGetMethod: false,
    exchanges: [
      mapExchange({
        onError(error, operation) {
          if (errorCode(error) === 'UNAUTHENTICATED' && !PASSWORD_CHECKS.has(operationName(operation) ?? '')) onSessionEnded();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return { subscribe: (sink) => ({ unsubscribe: sse.subscribe(input, sink) }) };
        },
      }),
    ],
  });
}

/** The stable code of the first GraphQL error (extensions.code), or NETWORK when the server was not reached. */
export function errorCode(error: CombinedError | undefined | null): string | null {
  if (!error) return null;
  if (error.networkError) return 'NETWORK';
  const code = error.graphQLErrors[0]?.extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

export function errorMessage(error: CombinedError | undefined | null): string | null {
  if (!error) return null;
  return error.graphQLErrors[0]?.message ?? error.message;
}
