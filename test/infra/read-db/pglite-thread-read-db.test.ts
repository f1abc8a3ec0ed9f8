import { describe, expect, it } from 'vitest';
import { PgliteThreadReadDb } from '../../../src/infra/read-db/pglite-thread-read-db.ts';
import { readDbContract } from './read-db.contract.ts';

readDbContract('PGlite in its own thread', () => PgliteThreadReadDb.open());

describe('PgliteThreadReadDb', () => {
  it('serialises concurrent transactions on its single connection', async () => {
    const db = await PgliteThreadReadDb.open();
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
});
