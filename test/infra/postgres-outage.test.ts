// The PostgreSQL adapters through a crash of their server (`pg_ctl stop -m immediate` of a private
// cluster): nothing throws an unhandled 'error' (vitest fails the file if anything does), every call
// during the outage rejects with StoreUnavailableError, and after the restart the same adapter
// instances work again by themselves.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import { PostgresKeyStore } from '../../src/infra/personal-data/postgres-key-store.ts';
import { PostgresReadDb, type PostgresLease } from '../../src/infra/read-db/postgres-read-db.ts';
import { StoreUnavailableError } from '../../src/infra/store-unavailable.ts';
import { newEvent } from '../support/events.ts';
import { privatePostgresSkipReason, startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.ts';

const skip = privatePostgresSkipReason('PostgreSQL adapters through a server crash');

/** Generous bound for recovery after a restart; polled, never asserted as a duration. */
const RECOVERY_MS = 60_000;

async function eventually<T>(probe: () => Promise<T>, what: string): Promise<T> {
  const deadline = Date.now() + RECOVERY_MS;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${RECOVERY_MS} ms: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function expectUnavailable(promise: Promise<unknown>, store: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error, `expected StoreUnavailableError from the ${store}`).toBeInstanceOf(StoreUnavailableError);
  expect((error as StoreUnavailableError).store).toBe(store);
}

describe.skipIf(skip !== undefined)('PostgreSQL adapters when the server crashes', () => {
  let cluster: PrivatePostgres;
  let readDb: PostgresReadDb;
  let events: PostgresEventStore;
  let keys: PostgresKeyStore;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    readDb = await PostgresReadDb.open({ connectionString: cluster.url, poolSize: 3 });
    events = await PostgresEventStore.open({ connectionString: cluster.url, poolSize: 3 });
    keys = await PostgresKeyStore.open(cluster.url, { poolSize: 2 });
    await readDb.exec('CREATE TABLE IF NOT EXISTS outage_probe (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await readDb?.close();
    await events?.close();
    await keys?.close();
    await cluster?.destroy();
  });

  it('a transaction whose connection dies while checked out, with no query in flight, rejects as unavailable', async () => {
    let crashed!: () => void;
    const afterCrash = new Promise<void>((resolve) => { crashed = resolve; });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => { entered = resolve; });
    const transaction = readDb.transaction(async (tx) => {
      await tx.query('INSERT INTO outage_probe (id) VALUES (1) ON CONFLICT DO NOTHING');
      entered();
      await afterCrash; // the connection breaks here, between two statements
      await tx.query('SELECT 1');
    });
    transaction.catch(() => {});
    await inside;
    await cluster.crash();
    crashed();
    await expectUnavailable(transaction, 'read database');
    await cluster.start();
    await eventually(() => readDb.query('SELECT 1'), 'read database after the restart');
    // The transaction did not commit.
    expect((await readDb.query('SELECT count(*)::int AS n FROM outage_probe')).rows).toEqual([{ n: 0 }]);
  });

  it('a statement in flight when the server dies rejects as unavailable, in every adapter', async () => {
    const inFlight = [
      expectUnavailable(readDb.query('SELECT pg_sleep(60)'), 'read database'),
      expectUnavailable(readDb.transaction((tx) => tx.query('SELECT pg_sleep(60)')), 'read database'),
    ];
    // Wait until both statements run on the server before crashing it.
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    try {
      await eventually(async () => {
        const { rows } = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'");
        if (rows[0]!.n < 2) throw new Error(`${rows[0]!.n} statements running`);
      }, 'statements running');
    } finally {
      await admin.end();
    }
    await cluster.crash();
    await Promise.all(inFlight);
    await cluster.start();
    await eventually(() => readDb.query('SELECT 1'), 'read database after the restart');
  });

  it('every call during the outage rejects as unavailable; after the restart the same instances work', async () => {
    const lease = (await readDb.tryLease('outage-lease')) as PostgresLease;
    expect(lease).not.toBeNull();
    const stream = `outage-${Date.now()}`;
    await events.append(stream, [newEvent()]);
    const before = await events.headPosition();
    const subscription = events.subscribeToAll({ after: before });
    const iterator = subscription[Symbol.asyncIterator]();
    const nextEvent = iterator.next();
    nextEvent.catch(() => {});

    await cluster.crash();
    await eventually(async () => { if (!lease.lost.aborted) throw new Error('lease not lost yet'); }, 'the lease is lost');

    await expectUnavailable(readDb.query('SELECT 1'), 'read database');
    await expectUnavailable(readDb.exec('SELECT 1'), 'read database');
    await expectUnavailable(readDb.transaction((tx) => tx.query('SELECT 1')), 'read database');
    await expectUnavailable(readDb.tryLease('outage-other'), 'read database');
    await expectUnavailable(events.append(stream, [newEvent()]), 'event store');
    await expectUnavailable(events.readStream(stream), 'event store');
    await expectUnavailable(events.readAll(), 'event store');
    await expectUnavailable(events.headPosition(), 'event store');
    await expectUnavailable(keys.get('subject-1'), 'key store');
    await expectUnavailable(keys.putIfAbsent('subject-1', Buffer.alloc(61)), 'key store');
    await expectUnavailable(keys.delete('subject-1'), 'key store');

    await cluster.start();
    await eventually(() => readDb.query('SELECT 1'), 'read database after the restart');
    const again = await eventually(async () => {
      const taken = await readDb.tryLease('outage-lease');
      if (!taken) throw new Error('lease not free');
      return taken as PostgresLease;
    }, 'the lease after the restart');
    expect(again.lost.aborted).toBe(false);
    await again.release();
    const appended = await eventually(() => events.append(stream, [newEvent('AfterRestart')]), 'append after the restart');
    expect((await events.readStream(stream)).map((e) => e.type)).toEqual(['Tested', 'AfterRestart']);
    // The subscription polls: if one of its reads fell in the outage it ends as unavailable (its
    // reader, e.g. the projection runner, subscribes again from its position); if the outage fell
    // between two polls it simply goes on and delivers what was appended after the restart. Either
    // is right; anything else (another error, a wrong or skipped event) is not.
    const outcome = await nextEvent.then((result) => result, (error: unknown) => error);
    if (outcome instanceof StoreUnavailableError) expect(outcome.store).toBe('event store');
    else expect(outcome).toMatchObject({ done: false, value: { type: 'AfterRestart', position: appended.position } });
    await subscription.close();
    const resubscribed = events.subscribeToAll({ after: before });
    const delivered = await resubscribed[Symbol.asyncIterator]().next();
    expect(delivered.value).toMatchObject({ type: 'AfterRestart', position: appended.position });
    await resubscribed.close();
    await eventually(() => keys.putIfAbsent('subject-1', Buffer.alloc(61, 1)), 'key store after the restart');
    expect(await keys.get('subject-1')).toEqual(Buffer.alloc(61, 1));
    // The LISTEN connection is back (so other instances' appends wake subscribers at once again).
    await eventually(async () => {
      const { rows } = await readDb.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'LISTEN evident_events' AND pid <> pg_backend_pid()");
      if (rows[0]!.n < 1) throw new Error('no LISTEN connection');
    }, 'the event store listens again');
  });
});
