import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadDb, SqlExecutor } from './port.ts';

/** Advisory lock (two-int4 form) that serialises migrators: 'EVMG', 1. */
const MIGRATION_LOCK: readonly [number, number] = [0x45564d47, 1];
const FILE_NAME = /^\d{4}_[A-Za-z0-9_-]+\.sql$/;

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** An applied migration file was edited afterwards: fix the file or write a new migration. */
export class MigrationChecksumError extends Error {
  readonly names: string[];
  constructor(names: string[]) {
    super(`Applied migration(s) changed since they ran: ${names.join(', ')}. ` +
      'Restore the original file(s) and put the change in a new migration.');
    this.name = 'MigrationChecksumError';
    this.names = names;
  }
}

/** sha256 of the file with line endings normalised, so a checkout with CRLF does not count as a change. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** `NNNN_name.sql` files of `dir` in lexical order; other files are ignored. */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => FILE_NAME.test(name)).sort();
  return Promise.all(names.map(async (name) => {
    const sql = await readFile(join(dir, name), 'utf8');
    return { name, sql, checksum: migrationChecksum(sql) };
  }));
}

async function lock(tx: SqlExecutor): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
}

async function appliedChecksums(tx: SqlExecutor): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations');
  return new Map(rows.map((row) => [row.name, row.checksum]));
}

function changed(files: readonly MigrationFile[], applied: Map<string, string>): string[] {
  return files.filter((f) => applied.has(f.name) && applied.get(f.name) !== f.checksum).map((f) => f.name);
}

/**
 * Applies the pending migrations of `dir`, each in its own transaction together with its row in
 * schema_migrations, and returns the names it applied. Refuses to run anything when an applied file
 * has changed. Each step takes a transaction-scoped advisory lock, so several processes may migrate
 * at once: each file runs exactly once. Statements that cannot run in a transaction (CREATE INDEX
 * CONCURRENTLY) are not supported. Rows for files no longer present are ignored.
 */
export async function migrate(db: ReadDb, dir: string): Promise<string[]> {
  const files = await readMigrations(dir);
  const applied = await db.transaction(async (tx) => {
    await lock(tx);
    await tx.exec(SCHEMA_MIGRATIONS);
    return appliedChecksums(tx);
  });
  const edited = changed(files, applied);
  if (edited.length > 0) throw new MigrationChecksumError(edited);

  const ran: string[] = [];
  for (const file of files) {
    if (applied.has(file.name)) continue;
    const didRun = await db.transaction(async (tx) => {
      await lock(tx);
      // Another process may have applied it while we waited for the lock.
      const { rows } = await tx.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE name = $1', [file.name]);
      const existing = rows[0];
      if (existing) {
        if (existing.checksum !== file.checksum) throw new MigrationChecksumError([file.name]);
        return false;
      }
      await tx.exec(file.sql);
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
      return true;
    });
    if (didRun) ran.push(file.name);
  }
  return ran;
}
