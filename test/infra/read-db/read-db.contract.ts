import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionAbortedError } from '../../../src/infra/read-db/errors.ts';
import type { ReadDb } from '../../../src/infra/read-db/port.ts';

/** A table name unique to one test, so suites that share a PostgreSQL database do not collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The same statement must give exactly these JS values on every adapter. */
export const TYPES_SQL = `SELECT
  9007199254740993::int8 AS i8,
  2::int4 AS i4,
  3::int2 AS i2,
  12345678901234567890.123456789::numeric AS num,
  2.5::float8 AS f8,
  true AS b,
  'x'::text AS t,
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u,
  '2024-01-02 03:04:05.123456+00'::timestamptz AS tz,
  '2024-01-02 05:04:05+02'::timestamptz AS tz_offset,
  'infinity'::timestamptz AS tz_inf,
  '2024-01-02'::date AS d,
  '2024-01-02 03:04:05.5'::timestamp AS ts,
  '{"a": 1, "b": [true, null]}'::jsonb AS jb,
  '[1, 2]'::json AS j,
  ARRAY['a', 'b']::text[] AS ta,
  ARRAY[1, NULL, 9007199254740993]::int8[] AS i8a,
  ARRAY[1.5]::numeric[] AS numa,
  ARRAY['2024-01-02 03:04:05+00']::timestamptz[] AS tza,
  ARRAY[1, 2]::int4[] AS i4a,
  '\\x0102ff'::bytea AS by,
  NULL::int8 AS nul`;

export const EXPECTED_TYPES = {
  i8: '9007199254740993',
  i4: 2,
  i2: 3,
  num: '12345678901234567890.123456789',
  f8: 2.5,
  b: true,
  t: 'x',
  u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  tz: '2024-01-02T03:04:05.123Z',
  tz_offset: '2024-01-02T03:04:05.000Z',
  tz_inf: 'infinity',
  d: '2024-01-02',
  ts: '2024-01-02 03:04:05.5',
  jb: { a: 1, b: [true, null] },
  j: [1, 2],
  ta: ['a', 'b'],
  i8a: ['1', null, '9007199254740993'],
  numa: ['1.5'],
  tza: ['2024-01-02T03:04:05.000Z'],
  i4a: [1, 2],
  by: Buffer.from([1, 2, 255]),
  nul: null,
};

/**
 * Behaviour every ReadDb adapter must share. `openDb` opens a new instance; the suite opens one
 * for all tests and another to test close().
 */
export function readDbContract(label: string, openDb: () => Promise<ReadDb>): void {
  describe(`ReadDb contract: ${label}`, () => {
    // One instance for the suite (opening PGlite takes a second or two); tables are unique per test.
    let shared: ReadDb | undefined;
    beforeAll(async () => {
      shared = await openDb();
    });
    afterAll(async () => {
      await shared?.close();
    });
    async function open(): Promise<ReadDb> {
      return shared!;
    }

    it('runs queries with parameters and reports row counts', async () => {
      const db = await open();
      const table = uniqueName('rows');
      await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY, label text NOT NULL)`);
      const inserted = await db.query(`INSERT INTO ${table} (id, label) VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, 'two']);
      expect(inserted.rowCount).toBe(2);
      const selected = await db.query<{ id: number; label: string }>(`SELECT id, label FROM ${table} WHERE id >= $1 ORDER BY id`, [1]);
      expect(selected.rows).toEqual([{ id: 1, label: 'one' }, { id: 2, label: 'two' }]);
      expect(selected.rowCount).toBe(2);
      const updated = await db.query(`UPDATE ${table} SET label = $1 WHERE id = $2`, ['uno', 1]);
      expect(updated.rowCount).toBe(1);
      const none = await db.query(`UPDATE ${table} SET label = 'x' WHERE id = 99`);
      expect(none.rowCount).toBe(0);
      const empty = await db.query(`SELECT * FROM ${table} WHERE id = 99`);
      expect(empty).toEqual({ rows: [], rowCount: 0 });
    });

    it('execs a script of several statements', async () => {
      const db = await open();
      const table = uniqueName('script');
      await db.exec(`CREATE TABLE ${table} (id int); INSERT INTO ${table} VALUES (1); INSERT INTO ${table} VALUES (2);`);
      const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      expect(rows[0]!.n).toBe('2');
    });

    it('returns the same JS types', async () => {
      const db = await open();
      const { rows } = await db.query(TYPES_SQL);
      expect(rows[0]).toEqual(EXPECTED_TYPES);
      expect(Buffer.isBuffer(rows[0]!.by)).toBe(true);
    });

    it('returns the same JS types inside a transaction', async () => {
      const db = await open();
      const row = await db.transaction(async (tx) => (await tx.query(TYPES_SQL)).rows[0]);
      expect(row).toEqual(EXPECTED_TYPES);
    });

    it('accepts the usual parameter types', async () => {
      const db = await open();
      const { rows } = await db.query(
        `SELECT $1::int8 + 1 AS big, $2::int8 AS big_text, $3::timestamptz AS at_date, $4::timestamptz AS at_iso,
           $5::jsonb AS obj, $6::jsonb AS arr, $7::text[] AS texts, $8::numeric AS num, $9::bool AS flag, $10::text AS nothing`,
        [9007199254740993n, '42', new Date('2024-05-06T07:08:09.010Z'), '2024-05-06T07:08:09.010Z',
          { k: 'v', n: [1] }, JSON.stringify([1, 'two']), ['a', 'b c'], '1.25', false, null],
      );
      expect(rows[0]).toEqual({
        big: '9007199254740994',
        big_text: '42',
        at_date: '2024-05-06T07:08:09.010Z',
        at_iso: '2024-05-06T07:08:09.010Z',
        obj: { k: 'v', n: [1] },
        arr: [1, 'two'],
        texts: ['a', 'b c'],
        num: '1.25',
        flag: false,
        nothing: null,
      });
    });

    it('commits a transaction and returns its result', async () => {
      const db = await open();
      const table = uniqueName('commit');
      await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const result = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1)`, [1]);
        await tx.exec(`INSERT INTO ${table} VALUES (2)`);
        return (await tx.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n;
      });
      expect(result).toBe('2');
      expect((await db.query(`SELECT id FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('rolls a transaction back when its callback throws', async () => {
      const db = await open();
      const table = uniqueName('rollback');
      await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      const boom = new Error('boom');
      await expect(db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        throw boom;
      })).rejects.toBe(boom);
      expect((await db.query(`SELECT * FROM ${table}`)).rows).toEqual([]);
      // The connection is usable afterwards.
      await db.transaction(async (tx) => { await tx.query(`INSERT INTO ${table} VALUES (2)`); });
      expect((await db.query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: 2 }]);
    });

    it('rolls back and fails loudly when a failed statement was swallowed inside the transaction', async () => {
      const db = await open();
      const table = uniqueName('aborted');
      await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await expect(db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        await tx.query(`INSERT INTO ${table} VALUES (1)`).catch(() => { /* swallowed */ });
      })).rejects.toBeInstanceOf(TransactionAbortedError);
      expect((await db.query(`SELECT * FROM ${table}`)).rows).toEqual([]);
    });

    it('allows a caught error rolled back to a savepoint', async () => {
      const db = await open();
      const table = uniqueName('savepoint');
      await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        await tx.exec('SAVEPOINT again');
        await tx.query(`INSERT INTO ${table} VALUES (1)`).catch(() => tx.exec('ROLLBACK TO SAVEPOINT again'));
        await tx.query(`INSERT INTO ${table} VALUES (2)`);
      });
      expect((await db.query(`SELECT id FROM ${table} ORDER BY id`)).rows).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('refuses a transaction executor used after the transaction ended', async () => {
      const db = await open();
      let leaked: { query: (sql: string) => Promise<unknown> } | undefined;
      await db.transaction(async (tx) => { leaked = tx; });
      await expect(leaked!.query('SELECT 1')).rejects.toThrow();
    });

    it('keeps uncommitted changes invisible and lets a query outside the transaction finish', async () => {
      const db = await open();
      const table = uniqueName('isolation');
      await db.exec(`CREATE TABLE ${table} (id int)`);
      let outside: Promise<number> | undefined;
      let settledInside = false;
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES (1)`);
        outside = db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`).then((r) => r.rows[0]!.n);
        if (db.kind === 'pglite') {
          // PGlite has one connection: the outside query waits for the commit, while the
          // transaction itself carries on (this round trip would deadlock otherwise).
          void outside.then(() => { settledInside = true; });
          await tx.query('SELECT 1');
          expect(settledInside).toBe(false);
        } else {
          // PostgreSQL runs it concurrently on another connection: it finishes inside, seeing nothing.
          expect(await outside).toBe(0);
        }
      });
      expect(await outside).toBe(db.kind === 'pglite' ? 1 : 0);
    });

    it('grants a lease and releases it idempotently', async () => {
      const db = await open();
      const lease = await db.tryLease(uniqueName('lease'));
      expect(lease).not.toBeNull();
      await lease!.release();
      await lease!.release();
    });

    it('refuses to work after close', async () => {
      const db = await openDb();
      await db.close();
      await db.close();
      await expect(db.query('SELECT 1')).rejects.toThrow(/closed/);
    });
  });
}
