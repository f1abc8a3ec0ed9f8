// The prepared-statement path of the PGlite read database (src/infra/read-db/pglite-prepared.ts)
// answers exactly as PGlite's own `query` does, and keeps working across the changes that make a
// cached statement stale.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { REPREPARE_AFTER } from '../../../src/infra/read-db/pglite-prepared.ts';
import { TEXT_PARSERS } from '../../../src/infra/read-db/type-parsers.ts';

describe('PGlite prepared statements', () => {
  let db: PgliteReadDb;
  /** PGlite's own query path with the same parsers, to compare against. */
  let plain: PGlite;

  beforeAll(async () => {
    db = await PgliteReadDb.open();
    plain = await PGlite.create({ parsers: { ...TEXT_PARSERS } });
    const schema = `CREATE TABLE t (id int PRIMARY KEY, big int8, at timestamptz, doc jsonb, tags text[], raw bytea, note text, ok boolean, n numeric);
      INSERT INTO t VALUES (1, 9007199254740993, '2024-01-02T03:04:05.123456Z', '{"a":[1,{"b":null}]}', '{x,"y z"}', '\\x00ff', NULL, true, 1.50),
                           (2, -1, 'infinity', '[]', '{}', '', 'é ✓ 𝄞', false, NULL);`;
    await db.exec(schema);
    await plain.exec(schema);
  });
  afterAll(async () => {
    await db?.close();
    await plain?.close();
  });

  it('returns the same rows, types and counts as PGlite.query, for reads and writes', async () => {
    const cases: Array<[string, unknown[]]> = [
      ['SELECT * FROM t WHERE id = ANY($1) ORDER BY id', [[1, 2]]],
      ['SELECT $1::jsonb AS j, $2::text[] AS a, $3::timestamptz AS ts, $4::int8 AS b, $5::bytea AS r', [{ k: [1, 'two'] }, ['p', 'q r'], new Date('2025-05-05T05:05:05.005Z'), 12n, new Uint8Array([1, 2])]],
      ['UPDATE t SET note = $1 WHERE id > $2', ['changed', 0]],
      ['INSERT INTO t (id, note) VALUES ($1, $2), ($3, $4)', [3, null, 4, 'four']],
      ['DELETE FROM t WHERE id >= $1', [3]],
      ['WITH x AS (SELECT id FROM t) SELECT count(*)::int AS c FROM x', []],
    ];
    for (const [sql, params] of cases) {
      const ours = await db.query(sql, params);
      const theirs = await plain.query(sql, [...params]);
      expect(ours.rows, sql).toEqual(theirs.rows);
      expect(ours.rowCount, sql).toBe(theirs.affectedRows || theirs.rows.length);
    }
  });

  it('raises PostgreSQL errors with their codes, and the statement still works afterwards', async () => {
    await expect(db.query('SELECT * FROM t WHERE id = $1', ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    await expect(db.query('SELECT * FROM missing_table WHERE id = $1', [1])).rejects.toMatchObject({ code: '42P01' });
    await expect(db.query('SELEC oops')).rejects.toBeDefined();
    expect((await db.query<{ id: number }>('SELECT id FROM t WHERE id = $1', [1])).rows).toEqual([{ id: 1 }]);
  });

  it('follows a table swapped under it (a rebuild renames fresh tables into place)', async () => {
    await db.exec('CREATE TABLE s (id int, v text); INSERT INTO s VALUES (1, $$old$$);');
    const read = () => db.query<{ v: string }>('SELECT v FROM s WHERE id = $1', [1]);
    expect((await read()).rows).toEqual([{ v: 'old' }]);
    await db.exec('CREATE TABLE s_new (id int, v text); INSERT INTO s_new VALUES (1, $$new$$); ALTER TABLE s RENAME TO s_old; ALTER TABLE s_new RENAME TO s; DROP TABLE s_old;');
    expect((await read()).rows).toEqual([{ v: 'new' }]);
  });

  it('parses a statement again when the columns it returns changed', async () => {
    await db.exec('CREATE TABLE w (id int, v text); INSERT INTO w VALUES (1, $$a$$);');
    const read = () => db.query('SELECT * FROM w WHERE id = $1', [1]);
    expect((await read()).rows).toEqual([{ id: 1, v: 'a' }]);
    await db.exec('ALTER TABLE w ADD COLUMN extra int DEFAULT 7');
    expect((await read()).rows).toEqual([{ id: 1, v: 'a', extra: 7 }]);
  });

  it('parses and plans a statement again after many executions, so a plan made on a small table does not stay', async () => {
    await db.exec('CREATE TABLE g (id int PRIMARY KEY, v text)');
    const lookup = 'SELECT v FROM g WHERE id = $1';
    const names = async () => (await db.query<{ name: string }>(
      "SELECT name FROM pg_prepared_statements WHERE statement = 'SELECT v FROM g WHERE id = $1'")).rows.map((row) => row.name);
    for (let i = 0; i < REPREPARE_AFTER; i++) await db.query(lookup, [i]);
    const first = await names();
    expect(first).toHaveLength(1);
    await db.query('INSERT INTO g SELECT i, md5(i::text) FROM generate_series(1, 20000) i');
    expect((await db.query(lookup, [5])).rows).toHaveLength(1);
    const second = await names();
    expect(second).toHaveLength(1); // the old one was closed
    expect(second[0]).not.toBe(first[0]);
  });

  it('runs inside transactions, and a rolled-back transaction leaves nothing behind', async () => {
    await db.exec('CREATE TABLE r (id int)');
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO r VALUES ($1)', [1]);
      throw new Error('abort');
    })).rejects.toThrow('abort');
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO r VALUES ($1)', [2]);
      expect((await tx.query('SELECT id FROM r')).rows).toEqual([{ id: 2 }]);
    });
    expect((await db.query('SELECT id FROM r')).rows).toEqual([{ id: 2 }]);
  });

  it('keeps working when more distinct statements are used than it keeps', async () => {
    for (let i = 0; i < 300; i++) expect((await db.query(`SELECT $1::int + ${i} AS v`, [1])).rows).toEqual([{ v: i + 1 }]);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'evident_%'");
    expect(rows[0]!.n).toBeLessThanOrEqual(257);
  });
});
