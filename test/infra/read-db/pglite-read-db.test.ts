import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { readDbContract } from './read-db.contract.ts';

readDbContract('PGlite in memory', () => PgliteReadDb.open());

describe('PgliteReadDb', () => {
  it('has pgvector', async () => {
    const db = await PgliteReadDb.open();
    try {
      const { rows } = await db.query<{ d: number; v: string }>(
        `SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector AS d, '[1,2,3]'::vector AS v`,
      );
      expect(rows[0]).toEqual({ d: 1, v: '[1,2,3]' });
    } finally {
      await db.close();
    }
  });

  it('serialises concurrent transactions on its single connection', async () => {
    const db = await PgliteReadDb.open();
    try {
      await db.exec('CREATE TABLE counter (n int NOT NULL); INSERT INTO counter VALUES (0);');
      // A read-modify-write that would lose updates if two transactions interleaved.
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

  it('always grants leases (one process owns a PGlite directory)', async () => {
    const db = await PgliteReadDb.open();
    try {
      expect(await db.tryLease('projection:x')).not.toBeNull();
      expect(await db.tryLease('projection:x')).not.toBeNull();
    } finally {
      await db.close();
    }
  });

  it('keeps its data in a directory across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evident-pglite-'));
    try {
      const dataDir = join(dir, 'nested', 'read-db');
      const first = await PgliteReadDb.open({ dataDir });
      await first.exec(`CREATE TABLE kept (v text); INSERT INTO kept VALUES ('yes');`);
      await first.close();
      const second = await PgliteReadDb.open({ dataDir });
      try {
        expect((await second.query('SELECT v FROM kept')).rows).toEqual([{ v: 'yes' }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
