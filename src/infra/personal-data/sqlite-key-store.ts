import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { ownerOfSubject, SubjectErasedError, type KeyRecord, type KeyStore } from './key-store.ts';

export const SQLITE_KEY_STORE_FILE = 'keys.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subject_keys (
  subject_id TEXT PRIMARY KEY,
  wrapped BLOB NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS erased_subjects (
  subject_id TEXT PRIMARY KEY,
  erased_at TEXT NOT NULL
) WITHOUT ROWID;
`;

function toBuffer(value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error('subject_keys.wrapped is not a BLOB');
}

/**
 * The embedded key store: its own SQLite file (not the event log's), WAL with synchronous=FULL.
 * `secure_delete` zeroes an erased key's bytes in the page, and each delete is followed by a
 * truncating checkpoint so the WAL does not keep an old copy either. (Filesystem-level remnants,
 * snapshots and backups are outside what this file can control.)
 */
export class SqliteKeyStore implements KeyStore {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private closed = false;

  /** `path` is a file (its directory is created) or ':memory:'. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA secure_delete = ON;');
    this.db.exec(SCHEMA);
    if (path !== ':memory:') this.checkpoint(); // one a busy reader blocked at the last erasure
  }

  /** `<dataDir>/keys.sqlite`. */
  static inDataDir(dataDir: string): SqliteKeyStore {
    return new SqliteKeyStore(join(dataDir, SQLITE_KEY_STORE_FILE));
  }

  private statement(sql: string): StatementSync {
    if (this.closed) throw new Error('Key store is closed');
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private read(subjectId: string): Buffer | undefined {
    const row = this.statement('SELECT wrapped FROM subject_keys WHERE subject_id = ?').get(subjectId) as
      { wrapped: unknown } | undefined;
    return row === undefined ? undefined : toBuffer(row.wrapped);
  }

  async get(subjectId: string): Promise<Buffer | undefined> {
    return this.read(subjectId);
  }

  async putIfAbsent(subjectId: string, wrapped: Buffer): Promise<Buffer> {
    const insert = this.statement(
      'INSERT INTO subject_keys (subject_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (subject_id) DO NOTHING',
    );
    // One write transaction, so a delete from another process cannot fall between insert and read.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      if (this.statement('SELECT 1 FROM erased_subjects WHERE subject_id IN (?, ?)').get(subjectId, ownerOfSubject(subjectId))) {
        throw new SubjectErasedError(subjectId);
      }
      insert.run(subjectId, wrapped, new Date().toISOString());
      const stored = this.read(subjectId);
      this.db.exec('COMMIT');
      if (stored === undefined) throw new Error(`Key for subject ${subjectId} vanished inside its own transaction`);
      return stored;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async delete(subjectId: string): Promise<boolean> {
    this.db.exec('BEGIN IMMEDIATE');
    let deleted: boolean;
    try {
      deleted = Number(this.statement('DELETE FROM subject_keys WHERE subject_id = ?').run(subjectId).changes) > 0;
      this.statement('INSERT INTO erased_subjects (subject_id, erased_at) VALUES (?, ?) ON CONFLICT (subject_id) DO NOTHING')
        .run(subjectId, new Date().toISOString());
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
    if (!deleted) return false;
    this.checkpoint();
    return true;
  }

  async deleteUnder(prefix: string): Promise<number> {
    if (prefix.length === 0) throw new Error('deleteUnder needs a non-empty prefix');
    this.db.exec('BEGIN IMMEDIATE');
    let deleted: number;
    try {
      const at = new Date().toISOString();
      this.statement(`INSERT INTO erased_subjects (subject_id, erased_at)
        SELECT subject_id, ? FROM subject_keys WHERE substr(subject_id, 1, length(?)) = ? ON CONFLICT (subject_id) DO NOTHING`)
        .run(at, prefix, prefix);
      deleted = Number(this.statement('DELETE FROM subject_keys WHERE substr(subject_id, 1, length(?)) = ?').run(prefix, prefix).changes);
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
    if (deleted > 0) this.checkpoint();
    return deleted;
  }

  async *list(): AsyncIterable<KeyRecord> {
    for (let after = ''; ;) {
      const rows = this.statement('SELECT subject_id, wrapped, created_at FROM subject_keys WHERE subject_id > ? ORDER BY subject_id LIMIT 500')
        .all(after) as Array<{ subject_id: string; wrapped: unknown; created_at: string }>;
      if (rows.length === 0) break;
      for (const row of rows) yield { kind: 'key', subjectId: row.subject_id, wrapped: toBuffer(row.wrapped), createdAt: row.created_at };
      after = rows[rows.length - 1]!.subject_id;
    }
    for (let after = ''; ;) {
      const rows = this.statement('SELECT subject_id, erased_at FROM erased_subjects WHERE subject_id > ? ORDER BY subject_id LIMIT 500')
        .all(after) as Array<{ subject_id: string; erased_at: string }>;
      if (rows.length === 0) break;
      for (const row of rows) yield { kind: 'erased', subjectId: row.subject_id, erasedAt: row.erased_at };
      after = rows[rows.length - 1]!.subject_id;
    }
  }

  async putRaw(record: KeyRecord): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      if (record.kind === 'key') {
        if (!this.statement('SELECT 1 FROM erased_subjects WHERE subject_id = ?').get(record.subjectId)) {
          this.statement('INSERT INTO subject_keys (subject_id, wrapped, created_at) VALUES (?, ?, ?) ON CONFLICT (subject_id) DO NOTHING')
            .run(record.subjectId, record.wrapped, record.createdAt);
        }
      } else {
        this.statement('DELETE FROM subject_keys WHERE subject_id = ?').run(record.subjectId);
        this.statement('INSERT INTO erased_subjects (subject_id, erased_at) VALUES (?, ?) ON CONFLICT (subject_id) DO NOTHING')
          .run(record.subjectId, record.erasedAt);
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Erasure's scrub: completes a checkpoint that a busy reader blocked at delete time. */
  async scrub(): Promise<void> {
    if (this.closed) throw new Error('Key store is closed');
    this.checkpoint();
  }

  /** Copies the WAL into the file and empties it, so the WAL keeps no older copy of a deleted key's page. */
  private checkpoint(): void {
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch {
      // a busy reader elsewhere can block the checkpoint; the next one (close, next start) completes it
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }
}
