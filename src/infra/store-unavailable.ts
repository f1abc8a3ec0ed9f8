/**
 * A store (event log, read database, key store) could not be reached: the server is down, restarting,
 * refusing connections, or the connection broke mid-request. Nothing about the request itself was
 * wrong; it can be tried again once the store is back. Whether a write that was in flight when the
 * connection broke took effect is unknown.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly store: string;
  /** What the driver said, e.g. "connect ECONNREFUSED 127.0.0.1:5432". */
  readonly reason: string;

  constructor(store: string, cause: unknown) {
    const failure = connectionFailureIn(cause);
    const reason = failure instanceof StoreUnavailableError ? failure.reason : failure?.message ?? String(cause);
    super(`The ${store} is unavailable: ${reason}`, { cause });
    this.reason = reason;
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

/** Socket-level failures (Node's system error codes) that mean the server cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH',
  'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT', // ENOENT: a unix socket that is not there (server not running)
]);

/**
 * SQLSTATEs of a server that is shutting down, starting up, crashed or out of connections: class 08
 * (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
 * 53300 too_many_connections.
 */
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** node-postgres's own messages for a connection that broke, timed out or cannot be used any more. */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect$/, // pool: no connection within connectionTimeoutMillis
  /^Client has encountered a connection error and is not queryable$/,
  /^Query read timeout$/,
];

/** The error in `error`'s cause chain saying the database could not be reached or the connection broke, if any. */
export function connectionFailureIn(error: unknown, depth = 0): Error | undefined {
  if (!(error instanceof Error) || depth > 5) return undefined;
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && unavailableSqlState(code)))) return error;
  if (DRIVER_MESSAGES.some((pattern) => pattern.test(error.message))) return error;
  // net.connect to a host name with several addresses fails with an AggregateError of each attempt.
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = connectionFailureIn(inner, depth + 1);
      if (found) return found;
    }
  }
  return connectionFailureIn(error.cause, depth + 1);
}

/** Whether `error` says the database could not be reached or the connection broke (not: the query was wrong). */
export function isConnectionFailure(error: unknown): boolean {
  return connectionFailureIn(error) !== undefined;
}

/** Rethrows a connection failure as StoreUnavailableError, anything else unchanged. */
export function toStoreError(store: string, error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isConnectionFailure(error)) return error;
  return new StoreUnavailableError(store, error);
}

/** Runs `operation`, turning a connection failure into StoreUnavailableError. */
export async function orUnavailable<T>(store: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(store, error);
  }
}
