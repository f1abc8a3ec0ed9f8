import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MigrationChecksumError, migrate } from '../../../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import type { ReadDb } from '../../../src/infra/read-db/port.ts';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';

const REPO_MIGRATIONS = new URL('../../../migrations/', import.meta.url).pathname;

async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'evident-migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

async function tableExists(db: ReadDb, table: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]);
  return rows[0]!.found !== null;
}

/** Each call uses tables of its own prefix, so the suites can share one database. */
function migrationSuite(label: string, openDb: () => Promise<ReadDb>, options: { concurrent: boolean }): void {
  describe(`migrate on ${label}`, () => {
    const dirs: string[] = [];
    const dbs: ReadDb[] = [];
    let counter = 0;
    async function open(): Promise<ReadDb> {
      const db = await openDb();
      dbs.push(db);
      return db;
    }
    async function dir(files: Record<string, string>): Promise<string> {
      const d = await tempDir(files);
      dirs.push(d);
      return d;
    }
    function prefix(): string {
      counter += 1;
      return `m${counter}_${Math.random().toString(36).slice(2, 8)}`;
    }
    afterEach(async () => {
      await Promise.all(dbs.splice(0).map((db) => db.close()));
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    });

    it('applies pending files in lexical order, once, and records them', async () => {
      const db = await open();
      const p = prefix();
      const d = await dir({
        [`0002_${p}_b.sql`]: `ALTER TABLE ${p}_a ADD COLUMN b text;`,
        [`0001_${p}_a.sql`]: `CREATE TABLE ${p}_a (id int PRIMARY KEY);\nCREATE INDEX ${p}_a_id ON ${p}_a (id);`,
        'README.md': 'not a migration',
      });
      expect(await migrate(db, d)).toEqual([`0001_${p}_a.sql`, `0002_${p}_b.sql`]);
      expect(await migrate(db, d)).toEqual([]);
      const { rows } = await db.query<{ name: string; checksum: string; applied_at: string }>(
        'SELECT name, checksum, applied_at FROM schema_migrations WHERE name LIKE $1 ORDER BY name', [`%${p}%`],
      );
      expect(rows.map((r) => r.name)).toEqual([`0001_${p}_a.sql`, `0002_${p}_b.sql`]);
      expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[0]!.applied_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      await db.query(`INSERT INTO ${p}_a (id, b) VALUES (1, 'x')`);
    });

    it('applies only the new files on a later run', async () => {
      const db = await open();
      const p = prefix();
      const files = { [`0001_${p}.sql`]: `CREATE TABLE ${p}_one (id int);` };
      const d = await dir(files);
      expect(await migrate(db, d)).toEqual([`0001_${p}.sql`]);
      await writeFile(join(d, `0002_${p}.sql`), `CREATE TABLE ${p}_two (id int);`);
      expect(await migrate(db, d)).toEqual([`0002_${p}.sql`]);
      expect(await tableExists(db, `${p}_two`)).toBe(true);
    });

    it('refuses to run when an applied file changed, and applies nothing', async () => {
      const db = await open();
      const p = prefix();
      const d = await dir({ [`0001_${p}.sql`]: `CREATE TABLE ${p}_one (id int);` });
      await migrate(db, d);
      await writeFile(join(d, `0001_${p}.sql`), `CREATE TABLE ${p}_one (id bigint);`);
      await writeFile(join(d, `0002_${p}.sql`), `CREATE TABLE ${p}_two (id int);`);
      const error = await migrate(db, d).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationChecksumError);
      expect((error as MigrationChecksumError).names).toEqual([`0001_${p}.sql`]);
      expect((error as Error).message).toMatch(new RegExp(`0001_${p}\\.sql`));
      expect(await tableExists(db, `${p}_two`)).toBe(false);
    });

    it('does not count a change of line endings as a change', async () => {
      const db = await open();
      const p = prefix();
      const d = await dir({ [`0001_${p}.sql`]: `CREATE TABLE ${p}_one (id int);\nCREATE TABLE ${p}_two (id int);\n` });
      await migrate(db, d);
      await writeFile(join(d, `0001_${p}.sql`), `CREATE TABLE ${p}_one (id int);\r\nCREATE TABLE ${p}_two (id int);\r\n`);
      expect(await migrate(db, d)).toEqual([]);
    });

    it('rolls a failing file back entirely and keeps the files before it', async () => {
      const db = await open();
      const p = prefix();
      const d = await dir({
        [`0001_${p}.sql`]: `CREATE TABLE ${p}_one (id int);`,
        [`0002_${p}.sql`]: `CREATE TABLE ${p}_two (id int);\nSELECT * FROM ${p}_missing;`,
      });
      await expect(migrate(db, d)).rejects.toThrow(/missing/);
      expect(await tableExists(db, `${p}_one`)).toBe(true);
      expect(await tableExists(db, `${p}_two`)).toBe(false);
      const { rows } = await db.query('SELECT name FROM schema_migrations WHERE name LIKE $1', [`%${p}%`]);
      expect(rows).toEqual([{ name: `0001_${p}.sql` }]);
    });

    it('applies the repository migrations', async () => {
      const db = await open();
      await migrate(db, REPO_MIGRATIONS);
      expect(await tableExists(db, 'projection_checkpoints')).toBe(true);
      expect(await migrate(db, REPO_MIGRATIONS)).toEqual([]);
    });

    it.runIf(options.concurrent)('runs each file exactly once when several processes migrate at once', async () => {
      const instances = await Promise.all(Array.from({ length: 4 }, () => open()));
      const p = prefix();
      const files: Record<string, string> = {};
      // Not idempotent: running a file twice would fail.
      for (let i = 1; i <= 6; i++) files[`000${i}_${p}.sql`] = `CREATE TABLE ${p}_t${i} (id int); SELECT pg_sleep(0.02);`;
      const d = await dir(files);
      const results = await Promise.all(instances.map((db) => migrate(db, d)));
      expect(results.flat().sort()).toEqual(Object.keys(files).sort());
      const { rows } = await instances[0]!.query('SELECT count(*)::int AS n FROM schema_migrations WHERE name LIKE $1', [`%${p}%`]);
      expect(rows).toEqual([{ n: 6 }]);
    });
  });
}

describe('migrations', () => {
  // PGlite: one in-memory database shared by the suite, opened once (it takes a second or two).
  let pglite: PgliteReadDb;
  beforeAll(async () => {
    pglite = await PgliteReadDb.open();
  });
  afterAll(async () => {
    await pglite?.close();
  });
  const unclosable = (): Promise<ReadDb> => Promise.resolve(Object.assign(Object.create(pglite) as ReadDb, {
    close: async () => {},
  }));
  migrationSuite('PGlite', unclosable, { concurrent: false });

  const skip = postgresSkipReason('migrations on PostgreSQL');
  describe.skipIf(skip !== undefined)('PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });
    migrationSuite('PostgreSQL', () => PostgresReadDb.open({ connectionString: database.url, poolSize: 2 }), { concurrent: true });
  });
});
