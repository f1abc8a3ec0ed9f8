import { GraphQLError } from 'graphql';
import { AccessError, QuotaExceededError } from '../commands/errors.ts';
import { DomainError } from '../domain/decider.ts';
import { isProviderError } from '../infra/ai/provider.ts';
import { BlobNotFoundError, BlobTooLargeError, InvalidBlobReferenceError } from '../infra/blob-store/errors.ts';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from '../infra/event-store/errors.ts';
import { SubjectErasedError } from '../infra/personal-data/key-store.ts';
import { PubSubOverflowError } from '../infra/pubsub.ts';
import { StoreUnavailableError } from '../infra/store-unavailable.ts';

/** Stable `extensions.code` values clients can rely on (ARCHITECTURE.md §8). */
export type ErrorCode =
  | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT' | 'RATE_LIMITED'
  | 'LEGAL_HOLD' | 'SIGNUP_CLOSED' | 'INVITE_INVALID' | 'RESET_TOKEN_INVALID' | 'QUOTA_EXCEEDED' | 'PROVIDER_NOT_CONFIGURED' | 'MODEL_NOT_FOUND' | 'PROVIDER_UNAVAILABLE' | 'SERVICE_UNAVAILABLE' | 'INTERNAL_SERVER_ERROR';

/** The database behind the API is down or restarting; which store, and the driver's words, stay in the server. */
export const SERVICE_UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable (its database cannot be reached); try again shortly';

export function clientError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/**
 * The errors we mean to show to clients, as GraphQL errors with a code; undefined for everything
 * else, which the server masks and logs.
 */
export function exposedError(error: unknown): GraphQLError | undefined {
  if (error instanceof GraphQLError) {
    if (typeof error.extensions?.code === 'string' && error.extensions.code !== 'INTERNAL_SERVER_ERROR') return error;
    // graphql-js's own errors (variables of the wrong type, a missing required variable) are the client's.
    if (!error.originalError || error.originalError instanceof GraphQLError) {
      return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, extensions: { ...error.extensions, code: 'BAD_USER_INPUT' } });
    }
    return exposedError(error.originalError);
  }
  if (error instanceof DomainError) return clientError(error.code, error.message);
  if (error instanceof AccessError) {
    return clientError(error.code, error.message, error.retryAfterSeconds === null ? {} : { retryAfterSeconds: error.retryAfterSeconds });
  }
  if (error instanceof QuotaExceededError) {
    return clientError('QUOTA_EXCEEDED', error.message, { tokensPerDay: error.tokensPerDay, tokensUsed: error.tokensUsed });
  }
  if (error instanceof WrongExpectedRevisionError || error instanceof DuplicateEventIdError) {
    return clientError('CONFLICT', 'The resource was changed concurrently; try again');
  }
  if (error instanceof InvalidEventError) return clientError('BAD_USER_INPUT', error.message);
  if (error instanceof PubSubOverflowError) return clientError('RATE_LIMITED', error.message);
  if (error instanceof SubjectErasedError) return clientError('CONFLICT', error.message);
  if (error instanceof BlobTooLargeError) return clientError('BAD_USER_INPUT', error.message, { limit: 'MAX_UPLOAD_BYTES', maxBytes: error.maxBytes });
  if (error instanceof InvalidBlobReferenceError) return clientError('BAD_USER_INPUT', error.message);
  if (error instanceof BlobNotFoundError) return clientError('NOT_FOUND', 'File not found');
  if (storeUnavailable(error)) return clientError('SERVICE_UNAVAILABLE', SERVICE_UNAVAILABLE_MESSAGE);
  if (isProviderError(error)) {
    const code = error.code;
    return clientError(code === 'PROVIDER_NOT_CONFIGURED' || code === 'MODEL_NOT_FOUND' ? code : 'PROVIDER_UNAVAILABLE', error.message);
  }
  return undefined;
}

/** A StoreUnavailableError, also when some layer wrapped it as the cause of its own error. */
function storeUnavailable(error: unknown): boolean {
  for (let depth = 0; error instanceof Error && depth < 5; depth++, error = error.cause) {
    if (error instanceof StoreUnavailableError) return true;
  }
  return false;
}
