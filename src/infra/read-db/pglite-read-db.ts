import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { ReadDbClosedError, TransactionAbortedError } from './errors.ts';
import { fromTemplate } from './pglite-template.ts';
import { isPreparable, PreparedStatements } from './pglite-prepared.ts';
import type { Lease, QueryResult, ReadDb, SqlExecutor } from './port.ts';
import { TEXT_PARSERS } from './type-parsers.ts';

export interface PgliteReadDbOptions {
  /** A directory for the database files; undefined keeps the database in memory. */
  dataDir?: string;
}

interface PgliteResults<Row> {
  rows: Row[];
  rowCount?: number;
  affectedRows?: number;
}

function toQueryResult<Row>(result: PgliteResults<Row>): QueryResult<Row> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
}

// PGlite's defaults, with 32 MB of shared buffers instead of initdb's 128 MB: setting those up is a
// large part of every start, and the read models are served from the OS page cache through NodeFS.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/** Never lost: the lease lives as long as the process that owns the directory. */
const FREE_LEASE: Lease = { lost: new AbortController().signal, release: async () => {} };

/**
 * The embedded read database: PGlite (Postgres in WebAssembly) with pgvector. PGlite has a single
 * connection: transactions are serialised by PGlite's own transaction mutex, and a `query` outside a
 * transaction waits for the running one to finish. A transaction callback must therefore use its
 * `tx` argument only; calling the ReadDb itself from inside it would wait forever.
 */
export class PgliteReadDb implements ReadDb {
  readonly kind = 'pglite';
  private readonly pg: PGlite;
  private readonly prepared: PreparedStatements;
  private closed = false;

  private constructor(pg: PGlite) {
    this.pg = pg;
    this.prepared = new PreparedStatements(pg);
  }

  static async open(options: PgliteReadDbOptions = {}): Promise<PgliteReadDb> {
    if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
    const template = await fromTemplate(options.dataDir);
    const pg = await PGlite.create(options.dataDir, { extensions: { vector }, parsers: { ...TEXT_PARSERS }, startParams: START_PARAMS, ...template });
    try {
      await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
      await keepNoOldWal(pg);
    } catch (error) {
      await pg.close().catch(() => {});
      throw error;
    }
    return new PgliteReadDb(pg);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.closed) throw new ReadDbClosedError();
    if (isPreparable(sql)) return this.prepared.query<Row>(sql, params ?? []);
    return toQueryResult(await this.pg.query<Row>(sql, params ? [...params] : undefined));
  }

  async exec(sql: string): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    await this.pg.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.closed) throw new ReadDbClosedError();
    return this.pg.transaction(async (tx: Transaction) => {
      const executor: SqlExecutor = {
        query: async <Row>(sql: string, params?: readonly unknown[]) => {
          if (tx.closed) throw new Error('Transaction is closed');
          if (isPreparable(sql)) return this.prepared.inTransaction<Row>(sql, params ?? []);
          return toQueryResult(await tx.query<Row>(sql, params ? [...params] : undefined));
        },
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      };
      const result = await fn(executor);
      if (tx.closed) return result; // the callback rolled back itself
      // PGlite commits an aborted transaction as a silent ROLLBACK: probe so that it fails loudly.
      try {
        await tx.query('SELECT 1');
      } catch (error) {
        if ((error as { code?: string }).code === '25P02') throw new TransactionAbortedError();
        throw error;
      }
      return result;
    });
  }

  /** Always granted: one process owns a PGlite directory. */
  async tryLease(_name: string): Promise<Lease | null> {
    if (this.closed) throw new ReadDbClosedError();
    return FREE_LEASE;
  }

  /**
   * VACUUM FULL writes the tables (heap, TOAST, indexes) into new files and truncates the old ones;
   * then checkpoints and WAL switches put every record of the deleted rows (inserts, full-page images,
   * the old table contents) in segments behind the redo point, which are deleted because wal_recycle
   * is off. Blocks every other query while it runs (one connection).
   */
  async scrub(tables: readonly string[]): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    if (tables.length > 0) await this.pg.exec(`VACUUM FULL ${tables.map(quoteIdent).join(', ')}`);
    await this.pg.exec('CHECKPOINT');
    // A segment waiting ahead of the current one was recycled (before wal_recycle was off) with old
    // records in it, so the switch into it must be followed by another, until one lands in a segment
    // created fresh; each checkpoint then deletes the segments left behind.
    for (let guard = 0; guard < MAX_WAL_SEGMENTS; guard++) {
      const { rows } = await this.pg.query<{ ahead: number }>(
        `SELECT count(*)::int AS ahead FROM pg_ls_waldir()
          WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_insert_lsn())`,
      );
      await this.pg.query('SELECT pg_switch_wal()');
      await this.pg.exec('CHECKPOINT');
      if ((rows[0]?.ahead ?? 0) === 0) break;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.close();
  }
}

/** More than max_wal_size can ever leave behind (1 GB in 16 MB segments). */
const MAX_WAL_SEGMENTS = 128;

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * With wal_recycle on (the default), a WAL segment no longer needed is renamed for reuse with its old
 * contents, which would keep erased rows readable. ALTER SYSTEM makes "off" hold from the next start
 * on, crash recovery included; SET makes it hold now.
 */
async function keepNoOldWal(pg: PGlite): Promise<void> {
  const { rows } = await pg.query<{ setting: string }>("SELECT setting FROM pg_settings WHERE name = 'wal_recycle'");
  if (rows[0]?.setting === 'off') return;
  await pg.exec('ALTER SYSTEM SET wal_recycle = off');
  await pg.exec('SET wal_recycle = off');
}
