import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgliteWorkerReadDb } from '../../../src/infra/read-db/pglite-worker-read-db.ts';
import { readDbContract } from './read-db.contract.ts';

readDbContract('PGlite in a worker thread', () => PgliteWorkerReadDb.open());

describe('PgliteWorkerReadDb', () => {
  it('has pgvector and passes PostgreSQL errors through with their fields', async () => {
    const db = await PgliteWorkerReadDb.open();
    try {
      const { rows } = await db.query<{ d: number }>(`SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector AS d`);
      expect(rows[0]).toEqual({ d: 1 });
      const failure = await db.query('SELECT * FROM no_such_table').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      expect(failure).toMatchObject({ code: '42P01', message: expect.stringMatching(/no_such_table/) });
    } finally {
      await db.close();
    }
  });

  it('serialises concurrent transactions on its single connection', async () => {
    const db = await PgliteWorkerReadDb.open();
    try {
      await db.exec('CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);');
      await Promise.all(Array.from({ length: 20 }, () => db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter');
        await new Promise((resolve) => setImmediate(resolve));
        await tx.query('UPDATE counter SET n = $1', [rows[0]!.n + 1]);
      })));
      expect((await db.query('SELECT n FROM counter')).rows).toEqual([{ n: 20 }]);
    } finally {
      await db.close();
    }
  });

  it('keeps its data in a directory across reopen, and scrubs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evident-pglite-worker-'));
    try {
      const dataDir = join(dir, 'read-db');
      const first = await PgliteWorkerReadDb.open({ dataDir });
      await first.exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes'), ('gone');`);
      await first.query(`DELETE FROM kept WHERE v = $1`, ['gone']);
      await first.scrub(['kept']);
      await first.close();
      const second = await PgliteWorkerReadDb.open({ dataDir });
      try {
        expect((await second.query('SELECT v FROM kept')).rows).toEqual([{ v: 'yes' }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails to open, with the reason, when the directory cannot hold a database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evident-pglite-worker-'));
    try {
      const file = join(dir, 'not-a-directory');
      await writeFile(file, 'x');
      await expect(PgliteWorkerReadDb.open({ dataDir: file })).rejects.toThrow(/EEXIST|ENOTDIR|not a directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
