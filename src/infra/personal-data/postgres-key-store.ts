import type pg from 'pg';
import { createPool } from '../postgres-pool.ts';
import { orUnavailable } from '../store-unavailable.ts';
import { SubjectErasedError, type KeyRecord, type KeyStore } from './key-store.ts';

const STORE = 'key store';

const SCHEMA_LOCK = 1163282763;
const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS evident_subject_keys (
  subject_id text PRIMARY KEY,
  wrapped bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS evident_erased_subjects (
  subject_id text PRIMARY KEY,
  erased_at timestamptz NOT NULL DEFAULT now()
)`;

export interface PostgresKeyStoreOptions {
  poolSize?: number;
}

/**
 * Subject keys in PostgreSQL, for deployments that share one database between instances. Note that a
 * DELETE leaves the old row version in the table until VACUUM reclaims it, and in WAL archives and
 * backups for as long as they are kept: erasure is complete once those have rolled over.
 */
export class PostgresKeyStore implements KeyStore {
  private readonly pool: pg.Pool;
  private closed = false;

  private constructor(connectionString: string, options: PostgresKeyStoreOptions) {
    this.pool = createPool({ connectionString, max: options.poolSize ?? 5 });
  }

  static async open(connectionString: string, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
    const store = new PostgresKeyStore(connectionString, options);
    try {
      const client = await store.pool.connect();
      try {
        // CREATE TABLE IF NOT EXISTS is not safe against itself running concurrently.
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA_SQL);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      await store.pool.end().catch(() => {});
      throw error;
    }
    return store;
  }

  private check(): void {
    if (this.closed) throw new Error('Key store is closed');
  }

  /** One statement on the pool; a connection failure rejects with StoreUnavailableError. */
  private query<Row extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    return orUnavailable(STORE, () => this.pool.query<Row>(sql, params));
  }

  async get(subjectId: string): Promise<Buffer | undefined> {
    this.check();
    // A tombstone wins over a key, even one a racing putIfAbsent committed after the erasure.
    const result = await this.query<{ wrapped: Buffer }>(
      `SELECT wrapped FROM evident_subject_keys k WHERE subject_id = $1
         AND NOT EXISTS (SELECT 1 FROM evident_erased_subjects e WHERE e.subject_id IN (k.subject_id, split_part(k.subject_id, '/', 1)))`,
      [subjectId],
    );
    return result.rows[0]?.wrapped;
  }

  async putIfAbsent(subjectId: string, wrapped: Buffer): Promise<Buffer> {
    this.check();
    // Two statements on purpose: under READ COMMITTED the SELECT takes a fresh snapshot and so sees a
    // row that a concurrent transaction committed while our INSERT waited on it. The loop covers an
    // erasure landing between the two.
    for (let attempt = 0; attempt < 10; attempt++) {
      const inserted = await this.query<{ wrapped: Buffer }>(
        `INSERT INTO evident_subject_keys (subject_id, wrapped)
         SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM evident_erased_subjects WHERE subject_id IN ($1, split_part($1, '/', 1)))
         ON CONFLICT (subject_id) DO NOTHING RETURNING wrapped`,
        [subjectId, wrapped],
      );
      const mine = inserted.rows[0]?.wrapped;
      if (mine) return (await this.get(subjectId)) ?? this.erased(subjectId);
      const existing = await this.get(subjectId);
      if (existing) return existing;
      if (await this.isErased(subjectId)) this.erased(subjectId);
    }
    throw new Error(`Could not store a key for subject ${subjectId}: it kept being deleted concurrently`);
  }

  private async isErased(subjectId: string): Promise<boolean> {
    const result = await this.query("SELECT 1 FROM evident_erased_subjects WHERE subject_id IN ($1, split_part($1, '/', 1))", [subjectId]);
    return (result.rowCount ?? 0) > 0;
  }

  private erased(subjectId: string): never {
    throw new SubjectErasedError(subjectId);
  }

  async delete(subjectId: string): Promise<boolean> {
    this.check();
    const result = await this.query<{ deleted: boolean }>(
      `WITH tombstone AS (
         INSERT INTO evident_erased_subjects (subject_id) VALUES ($1) ON CONFLICT (subject_id) DO NOTHING
       ), deleted AS (
         DELETE FROM evident_subject_keys WHERE subject_id = $1 RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM deleted) AS deleted`,
      [subjectId],
    );
    return result.rows[0]?.deleted === true;
  }

  async deleteUnder(prefix: string): Promise<number> {
    this.check();
    if (prefix.length === 0) throw new Error('deleteUnder needs a non-empty prefix');
    const result = await this.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM evident_subject_keys WHERE left(subject_id, length($1)) = $1 RETURNING subject_id
       ), tombstones AS (
         INSERT INTO evident_erased_subjects (subject_id) SELECT subject_id FROM gone ON CONFLICT (subject_id) DO NOTHING
       )
       SELECT count(*)::int AS n FROM gone`,
      [prefix],
    );
    return result.rows[0]?.n ?? 0;
  }

  async *list(): AsyncIterable<KeyRecord> {
    this.check();
    const iso = `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    for (let after = ''; ;) {
      const { rows } = await this.query<{ subject_id: string; wrapped: Buffer; created_at: string }>(
        `SELECT subject_id, wrapped, ${iso.replace('%s', 'created_at')} AS created_at FROM evident_subject_keys
          WHERE subject_id COLLATE "C" > $1 ORDER BY subject_id COLLATE "C" LIMIT 500`, [after]);
      if (rows.length === 0) break;
      for (const row of rows) yield { kind: 'key', subjectId: row.subject_id, wrapped: row.wrapped, createdAt: row.created_at };
      after = rows[rows.length - 1]!.subject_id;
    }
    for (let after = ''; ;) {
      const { rows } = await this.query<{ subject_id: string; erased_at: string }>(
        `SELECT subject_id, ${iso.replace('%s', 'erased_at')} AS erased_at FROM evident_erased_subjects
          WHERE subject_id COLLATE "C" > $1 ORDER BY subject_id COLLATE "C" LIMIT 500`, [after]);
      if (rows.length === 0) break;
      for (const row of rows) yield { kind: 'erased', subjectId: row.subject_id, erasedAt: row.erased_at };
      after = rows[rows.length - 1]!.subject_id;
    }
  }

  async putRaw(record: KeyRecord): Promise<void> {
    this.check();
    if (record.kind === 'key') {
      await this.query(
        `INSERT INTO evident_subject_keys (subject_id, wrapped, created_at)
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM evident_erased_subjects WHERE subject_id = $1)
         ON CONFLICT (subject_id) DO NOTHING`,
        [record.subjectId, record.wrapped, record.createdAt]);
    } else {
      await this.query(
        `WITH tombstone AS (
           INSERT INTO evident_erased_subjects (subject_id, erased_at) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING
         )
         DELETE FROM evident_subject_keys WHERE subject_id = $1`,
        [record.subjectId, record.erasedAt]);
    }
  }

  /** Removes deleted keys' row versions now rather than at the next autovacuum (erasure's scrub). */
  async scrub(): Promise<void> {
    this.check();
    await this.pool.query('VACUUM (INDEX_CLEANUP ON) evident_subject_keys');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
