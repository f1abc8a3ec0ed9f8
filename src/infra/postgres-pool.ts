import pg from 'pg';

/** How long getting a connection may take before the request fails as unavailable, instead of hanging. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface PoolOptions {
  connectionString: string;
  max: number;
  types?: pg.CustomTypesConfig;
}

/**
 * Connection settings shared by every PostgreSQL connection: a bounded connect, and TCP keep-alive
 * probes after 10 s of silence, so that idle connections (the lease and LISTEN connections above all)
 * are not dropped by middleboxes and a peer that vanished is noticed eventually (the OS's probe count
 * and interval decide when).
 */
export function connectionConfig(connectionString: string, types?: pg.CustomTypesConfig): pg.ClientConfig {
  return {
    connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    ...(types ? { types } : {}),
  };
}

/**
 * A pg Pool that survives its server going away. A client emits 'error' when its connection breaks,
 * possibly several times (the server's FATAL message, then the closed socket); the pool listens only
 * while the client is idle, and an 'error' nobody listens to kills the process. So every client gets
 * a listener for its whole life: queries in flight are rejected by the client itself, and the pool
 * drops a broken client when it is released (it is no longer queryable) or found broken while idle.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(options.connectionString, options.types), max: options.max });
  pool.on('connect', (client) => {
    client.on('error', () => { /* seen by the query in flight, if any; the pool drops the client */ });
  });
  pool.on('error', () => { /* an idle client was lost; the pool replaces it on demand */ });
  return pool;
}
