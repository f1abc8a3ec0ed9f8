// PgliteReadDb.scrub: deleted rows leave no bytes in any file of the data directory, including WAL
// segments that an older PGlite (wal_recycle on) renamed ahead for reuse with their old contents.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { leaks } from '../../commands/erasure-support.ts';

describe('PgliteReadDb.scrub', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('removes deleted rows from heap, TOAST, indexes and WAL, recycled segments included', { timeout: 300_000 }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'evident-scrub-'));
    const secret = `secret${randomBytes(16).toString('hex')}`;
    const toasted = randomBytes(4000).toString('hex');
    const kept = `kept${randomBytes(16).toString('hex')}`;
    // As an older version left it: wal_recycle on, and a segment holding the secret recycled ahead.
    const old = await PGlite.create(dir);
    await old.exec('CREATE TABLE t (id int PRIMARY KEY, v text, big text); CREATE INDEX t_v ON t (v)');
    await old.query('INSERT INTO t VALUES (1, $1, $2), (2, $3, NULL)', [secret, toasted, kept]);
    await old.exec('CHECKPOINT');
    await old.query('SELECT pg_switch_wal()');
    await old.exec('CHECKPOINT');
    await old.close();
    expect(readdirSync(join(dir, 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name)).length).toBeGreaterThan(1);

    const db = await PgliteReadDb.open({ dataDir: dir });
    try {
      await db.query('DELETE FROM t WHERE id = 1');
      expect(Object.keys(leaks(dir, [secret, toasted.slice(3000, 3040)])).length).toBe(2);
      await db.scrub(['t']);
      expect((await db.query('SELECT v FROM t')).rows).toEqual([{ v: kept }]);
    } finally {
      await db.close();
    }
    expect(leaks(dir, [secret, toasted.slice(0, 40), toasted.slice(3000, 3040), toasted.slice(7950, 7990)])).toEqual({});
    expect(Object.keys(leaks(dir, [kept]))).toEqual([kept]);
  });
});
