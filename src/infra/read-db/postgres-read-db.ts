import pg from 'pg';
import { connectionConfig, createPool } from '../postgres-pool.ts';
import { isConnectionFailure, orUnavailable, StoreUnavailableError, toStoreError } from '../store-unavailable.ts';
import { ReadDbClosedError, TransactionAbortedError } from './errors.ts';
import type { Lease, QueryResult, ReadDb, SqlExecutor } from './port.ts';
import { pgCustomTypes } from './type-parsers.ts';

export interface PostgresReadDbOptions {
  connectionString: string;
  /** Pooled connections for queries and transactions (leases use one more, dedicated). */
  poolSize?: number;
}

/** First key of the two-int4 advisory lock space used for leases ('EVLS'); the second is hashtext(name). */
export const LEASE_LOCK_NAMESPACE = 0x45564c53;

const STORE = 'read database';

/** A lease on PostgreSQL; `lost` is aborted when its connection dies (the lock is then gone). */
export interface PostgresLease extends Lease {
  readonly name: string;
  readonly lost: AbortSignal;
}

function toQueryResult<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
}

class LeaseConnection {
  readonly client: pg.Client;
  readonly lost = new AbortController();
  readonly held = new Map<string, PostgresLease>();

  private queue: Promise<unknown> = Promise.resolve();

  constructor(client: pg.Client) {
    this.client = client;
  }

  /** One query at a time on the shared lease connection (pg clients do not queue safely by themselves). */
  query<Row extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    const result = this.queue.then(() => this.client.query<Row>(sql, params));
    this.queue = result.catch(() => {});
    return result;
  }
}

/**
 * PostgreSQL read database (DATABASE_URL) on a pg Pool. Leases are session advisory locks, all held
 * on one dedicated connection per ReadDb so they do not use up the pool; they end when released or
 * when that connection (this process) dies.
 */
export class PostgresReadDb implements ReadDb {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly options: PostgresReadDbOptions;
  private leaseConnection: Promise<LeaseConnection> | undefined;
  private closed = false;

  private constructor(options: PostgresReadDbOptions) {
    this.options = options;
    this.pool = createPool({ connectionString: options.connectionString, max: options.poolSize ?? 10, types: pgCustomTypes });
  }

  static async open(options: PostgresReadDbOptions): Promise<PostgresReadDb> {
    const db = new PostgresReadDb(options);
    try {
      await db.pool.query('SELECT 1');
    } catch (error) {
      await db.pool.end().catch(() => {});
      throw error;
    }
    return db;
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.closed) throw new ReadDbClosedError();
    return toQueryResult<Row>(await orUnavailable(STORE, () => this.pool.query(sql, params ? [...params] : undefined)));
  }

  async exec(sql: string): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    await orUnavailable(STORE, () => this.pool.query(sql));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.closed) throw new ReadDbClosedError();
    const client = await orUnavailable(STORE, () => this.pool.connect());
    let finished = false;
    // The pool's clients always have an error listener (createPool); this one only remembers that the
    // connection broke while checked out, so that it is not returned to the pool.
    let broken: Error | undefined;
    const onError = (error: Error) => { broken ??= error; };
    client.on('error', onError);
    const run = (sql: string, params?: readonly unknown[]) => orUnavailable(STORE, () => client.query(sql, params ? [...params] : undefined));
    const check = () => {
      if (finished) throw new Error('Transaction is closed');
    };
    const tx: SqlExecutor = {
      query: async <Row>(sql: string, params?: readonly unknown[]) => {
        check();
        return toQueryResult<Row>(await run(sql, params));
      },
      exec: async (sql: string) => {
        check();
        await run(sql);
      },
    };
    try {
      await run('BEGIN');
      const result = await fn(tx);
      finished = true;
      const commit = await run('COMMIT');
      if (commit.command === 'ROLLBACK') throw new TransactionAbortedError();
      return result;
    } catch (error) {
      finished = true;
      if (!broken) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error; // do not return a connection in an unknown state to the pool
        }
      }
      // A connection that broke fails the transaction as unavailable, whatever the callback made of
      // the rejected query (wrapped it, or caught it and threw something else).
      if (isConnectionFailure(error)) throw toStoreError(STORE, error);
      if (broken && isConnectionFailure(broken)) throw new StoreUnavailableError(STORE, broken);
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async tryLease(name: string): Promise<PostgresLease | null> {
    if (this.closed) throw new ReadDbClosedError();
    return orUnavailable(STORE, () => this.takeLease(name));
  }

  private async takeLease(name: string): Promise<PostgresLease | null> {
    const connection = await this.connectLeases();
    if (connection.held.has(name)) return null; // exclusive inside this process too
    const placeholder: PostgresLease = { name, lost: connection.lost.signal, release: async () => {} };
    connection.held.set(name, placeholder); // reserve the name while asking the server
    let acquired = false;
    try {
      const { rows } = await connection.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LEASE_LOCK_NAMESPACE, name],
      );
      acquired = rows[0]?.ok === true;
    } finally {
      if (!acquired && connection.held.get(name) === placeholder) connection.held.delete(name);
    }
    if (!acquired) return null;
    let released = false;
    const lease: PostgresLease = {
      name,
      lost: connection.lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        if (connection.held.get(name) !== lease) return;
        connection.held.delete(name);
        if (connection.lost.signal.aborted) return; // the lock went with the connection
        await connection.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LEASE_LOCK_NAMESPACE, name])
          .catch(() => { /* connection lost: the lock is gone anyway */ });
      },
    };
    if (connection.lost.signal.aborted) return null;
    connection.held.set(name, lease);
    return lease;
  }

  private connectLeases(): Promise<LeaseConnection> {
    if (!this.leaseConnection) {
      const pending = (async () => {
        const client = new pg.Client(connectionConfig(this.options.connectionString, pgCustomTypes));
        const connection = new LeaseConnection(client);
        const lose = () => {
          if (this.leaseConnection === pending) this.leaseConnection = undefined;
          connection.held.clear();
          connection.lost.abort(new Error('Lease connection lost'));
          client.end().catch(() => {});
        };
        client.on('error', lose);
        client.on('end', lose);
        try {
          await client.connect();
        } catch (error) {
          lose();
          throw error;
        }
        return connection;
      })();
      this.leaseConnection = pending;
      pending.catch(() => {
        if (this.leaseConnection === pending) this.leaseConnection = undefined;
      });
    }
    return this.leaseConnection;
  }

  /**
   * A plain VACUUM (no exclusive lock, so other instances keep reading): dead row versions and their
   * index entries are removed and the statistics recomputed; WAL, archives and backups are the
   * operator's (docs/operations.md).
   */
  async scrub(tables: readonly string[]): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    if (tables.length === 0) return;
    // INDEX_CLEANUP ON: by default VACUUM may skip the indexes when few rows died, leaving their keys.
    await this.pool.query(`VACUUM (INDEX_CLEANUP ON, ANALYZE) ${tables.map(quoteTable).join(', ')}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const leases = this.leaseConnection;
    this.leaseConnection = undefined;
    if (leases) {
      const connection = await leases.catch(() => undefined);
      if (connection) {
        connection.held.clear();
        connection.lost.abort(new Error('Read database closed'));
        await connection.client.end().catch(() => {});
      }
    }
    await this.pool.end();
  }
}

function quoteTable(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
