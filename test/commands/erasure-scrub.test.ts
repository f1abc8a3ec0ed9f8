// Erasure leaves nothing readable on disk (embedded default): after eraseUser and a clean stop, no file
// under DATA_DIR holds any of the person's personal data or their wrapped key, while another person's
// data is still found by the same scan (so the scan can fail).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { newUser, ok, startTestApp, type TestApp } from '../graphql/support.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import { ERASE, expectErased, findOnDisk, leaks, PROJECTIONS, REBUILD, seedPerson, wrappedKey, type Call } from './erasure-support.ts';

const WAIT_MS = 20_000;

describe('erasure on the embedded default', () => {
  let t: TestApp | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('after eraseUser, rebuilds and a clean stop, no file under DATA_DIR holds the person\'s data or key', { timeout: 300_000 }, async () => {
    t = await startTestApp();
    const test = t;
    const call: Call = (query, variables = {}, token) => ok(test.yoga, query, variables, token);
    const admin = await seedPerson(call, 'admin', WAIT_MS);
    const victim = await seedPerson(call, 'victim', WAIT_MS);
    const other = await seedPerson(call, 'other', WAIT_MS);
    const rebuildAll = async () => {
      for (const name of PROJECTIONS) {
        const { rebuildProjection } = await call<{ rebuildProjection: { state: string; lastError: string | null } }>(REBUILD, { name }, admin.token);
        expect(rebuildProjection).toEqual({ name, state: 'running', lastError: null });
      }
    };
    await rebuildAll();
    const key = wrappedKey(test.dataDir, victim.userId);
    // The scan sees everything while the person exists (the WAL, the heap or both hold it).
    await test.app.readDb.exec('CHECKPOINT');
    expect(Object.keys(leaks(test.dataDir, [...victim.secrets, key]))).toHaveLength(victim.secrets.length + 1);

    expect(await call(ERASE, { id: victim.userId }, admin.token)).toEqual({ eraseUser: victim.userId });
    await rebuildAll();
    await test.app.close();

    expectErased(test.dataDir, victim, key, [admin, other]);
    // The log never held any of it in the clear: personal fields are ciphertext there.
    const inLog = [...findOnDisk(test.dataDir, [...admin.secrets, ...other.secrets])].flatMap(([, files]) => files.filter((f) => f.startsWith('events.sqlite')));
    expect(inLog).toEqual([]);
  });
});

const TABLES = ['users', 'sessions', 'conversations', 'messages'];

/** A logger that keeps the messages it logs. */
function recordingLogger() {
  const messages: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => { messages.push((JSON.parse(line) as { msg: string }).msg); } });
  return { logger, messages };
}

describe.skipIf(postgresSkipReason('erasure on PostgreSQL'))('erasure on PostgreSQL', () => {
  let t: TestApp | undefined;
  let t2: TestApp | undefined;
  let db: TestDatabase | undefined;
  let client: pg.Client | undefined;

  afterEach(async () => {
    await client?.end();
    await t2?.close();
    await t?.close();
    t2 = undefined;
    await db?.drop();
    t = undefined;
    db = undefined;
    client = undefined;
  });

  it('the rows are gone and the tables vacuumed: no dead row version is left in them, nor a key row', { timeout: 300_000 }, async () => {
    db = await createTestDatabase();
    t = await startTestApp({ env: { DATABASE_URL: db.url, MASTER_KEY: randomBytes(32).toString('base64') } });
    const test = t;
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const sql = client;
    await sql.query('CREATE EXTENSION IF NOT EXISTS pageinspect');
    const call: Call = (query, variables = {}, token) => ok(test.yoga, query, variables, token);
    const admin = await seedPerson(call, 'admin', WAIT_MS);
    const victim = await seedPerson(call, 'victim', WAIT_MS);
    await seedPerson(call, 'other', WAIT_MS);
    for (const name of PROJECTIONS) await call(REBUILD, { name }, admin.token);

    expect(await call(ERASE, { id: victim.userId }, admin.token)).toEqual({ eraseUser: victim.userId });

    const left = await sql.query(`SELECT (SELECT count(*) FROM users WHERE user_id = $1) + (SELECT count(*) FROM sessions WHERE user_id = $1)
      + (SELECT count(*) FROM conversations WHERE owner_id = $1) + (SELECT count(*) FROM messages WHERE owner_id = $1)
      + (SELECT count(*) FROM evident_subject_keys WHERE subject_id = $1) AS n`, [victim.userId]);
    expect(Number(left.rows[0].n)).toBe(0);
    for (const table of [...TABLES, 'evident_subject_keys']) {
      // No dead row version is left in any heap page: VACUUM removed them (redirects carry no data).
      const items = await sql.query(`SELECT count(*) FILTER (WHERE lp_flags = 3) AS dead,
          count(*) FILTER (WHERE lp_flags = 1 AND t_xmax <> 0 AND t_infomask & 128 = 0) AS deleted
        FROM generate_series(0, pg_relation_size($1::regclass) / current_setting('block_size')::int - 1) AS block,
          LATERAL heap_page_items(get_raw_page($1::text, block::int))`, [table]);
      expect({ table, ...items.rows[0] }).toEqual({ table, dead: '0', deleted: '0' });
    }
    const stats = await sql.query('SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1) AND last_vacuum IS NOT NULL ORDER BY relname', [TABLES]);
    expect(stats.rows.map((row) => row.relname)).toEqual([...TABLES].sort());
  });

  it('an erasure made on one instance is scrubbed by the instance that holds the scrub, and eraseUser waits for it', { timeout: 300_000 }, async () => {
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, MASTER_KEY: randomBytes(32).toString('base64') };
    const first = recordingLogger();
    const second = recordingLogger();
    t = await startTestApp({ env, logger: first.logger, provider: false });
    t2 = await startTestApp({ env, logger: second.logger, provider: false }); // the scrub's lease is taken: this one stands by
    const b = t2;
    const call: Call = (query, variables = {}, token) => ok(b.yoga, query, variables, token);
    const admin = (await newUser(b.yoga)).token;
    const victim = await newUser(b.yoga);

    expect(await call(ERASE, { id: victim.userId }, admin)).toEqual({ eraseUser: victim.userId });

    const [erased] = await b.app.store.readAll({ filter: { eventTypes: ['UserDataErased'] } });
    const { rows } = await b.app.readDb.query<{ position: string }>("SELECT position FROM reactor_checkpoints WHERE name = 'erasure-scrub'");
    expect(BigInt(rows[0]!.position)).toBeGreaterThanOrEqual(erased!.position);
    expect(first.messages).toContain('read models scrubbed after erasure');
    expect(second.messages).not.toContain('read models scrubbed after erasure');
  });
});
