/**
 * The read database port: the Postgres dialect, on PGlite (embedded default, with pgvector) or on
 * PostgreSQL (DATABASE_URL). Read models are disposable: they can always be rebuilt from the log.
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters. */
  exec(sql: string): Promise<void>;
}

export interface Lease {
  /** Aborted when the lease is gone without a release (its connection died): stop acting on it at once. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export interface ReadDb extends SqlExecutor {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Takes a named lease held until released or until this process dies (Postgres session advisory
   * lock), so only one instance runs a given projection. Null when another holder has it.
   */
  tryLease(name: string): Promise<Lease | null>;
  /**
   * Erasure: makes rows already deleted from `tables` unrecoverable from the database's own files
   * (dead row versions, index entries, WAL) as far as this engine allows. See docs/operations.md.
   */
  scrub(tables: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
