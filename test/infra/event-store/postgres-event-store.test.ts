import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../../../src/infra/event-store/errors.ts';
import { PostgresEventStore } from '../../../src/infra/event-store/postgres-event-store.ts';
import { uuidv7 } from '../../../src/infra/ids.ts';
import { newEvent, take } from '../../support/events.ts';
import { eventStoreContract, LOAD_APPENDS_PER_WRITER } from '../../contract/event-store.contract.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';
import { within } from '../../support/within.ts';

const skip = postgresSkipReason('PostgreSQL event store contract');
describe.skipIf(skip)('postgres', () => {
  eventStoreContract('postgres', async () => {
    const database = await createTestDatabase();
    const store = await PostgresEventStore.open({ connectionString: database.url });
    return { store, dispose: async () => { await store.close(); await database.drop(); } };
  }, { writers: 8, appendsPerWriter: LOAD_APPENDS_PER_WRITER });
});

describe.skipIf(skip)('postgres group commit', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await PostgresEventStore.open({ connectionString: database.url });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('gives each append of one batch its own outcome, in order within a stream', async () => {
    const a = `a-${uuidv7()}`;
    const b = `b-${uuidv7()}`;
    const old = newEvent('Old');
    await store.append(a, [old]);
    const replayed = newEvent('Replayed');
    const first = await store.append(b, [replayed]);
    // All in one turn of the event loop: one batch (mixed streams, outcomes and the one-by-one path).
    const results = await Promise.allSettled([
      store.append(a, [newEvent('A1')], { expectedRevision: 0n }),
      store.append(b, [replayed]),
      store.append(a, [newEvent('A2'), newEvent('A3')], { expectedRevision: 1n }),
      store.append(a, [newEvent('Stale')], { expectedRevision: 1n }),
      store.append(`c-${uuidv7()}`, [old]),
      store.append(`d-${uuidv7()}`, [newEvent()], { expectedRevision: 'stream_exists' }),
      store.append(`e-${uuidv7()}`, [newEvent()], { expectedRevision: 'no_stream' }),
    ]);
    const [a1, replay, a23, stale, duplicate, missing, fresh] = results;
    expect(a1).toMatchObject({ status: 'fulfilled', value: { nextRevision: 1n } });
    expect(replay).toEqual({ status: 'fulfilled', value: first });
    expect(a23).toMatchObject({ status: 'fulfilled', value: { nextRevision: 3n } });
    expect(stale.status === 'rejected' && stale.reason).toBeInstanceOf(WrongExpectedRevisionError);
    expect(stale.status === 'rejected' && stale.reason.actual).toBe(3n);
    expect(duplicate.status === 'rejected' && duplicate.reason).toBeInstanceOf(DuplicateEventIdError);
    expect(missing.status === 'rejected' && missing.reason.actual).toBe('no_stream');
    expect(fresh).toMatchObject({ status: 'fulfilled', value: { nextRevision: 0n } });
    expect((await store.readStream(a)).map((e) => e.type)).toEqual(['Old', 'A1', 'A2', 'A3']);
    const positions = (await store.readStream(a)).map((e) => e.position);
    expect([...positions].sort((x, y) => (x < y ? -1 : 1))).toEqual(positions);
  });

  it('fast path: a batch of new ids in many streams, with a wrong revision among them', async () => {
    const streams = Array.from({ length: 20 }, (_, i) => `f${i % 5}-${uuidv7()}`);
    const results = await Promise.allSettled(streams.map((stream, i) =>
      store.append(stream, [newEvent(), newEvent()], { expectedRevision: i === 7 ? 5n : 'no_stream' })));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[7]!.status).toBe('rejected');
    for (const [i, stream] of streams.entries()) expect(await store.readStream(stream)).toHaveLength(i === 7 ? 0 : 2);
  });

  it('in SQL: data jsonb rejects fails that append alone (22P02), its neighbours commit', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const ids = [uuidv7(), uuidv7(), uuidv7()];
      const { rows } = await client.query(
        'SELECT append_index, status, detail FROM evident_append_batch($1, $2, $3, $4::uuid[], $5, $6, $7, $8)',
        [['s1', 's2', 's3'], ['any', 'any', 'any'], [1, 1, 1], ids, ['T', 'T', 'T'], [1, 1, 1], ['{}', '{bad', '{}'], ['{}', '{}', '{}']],
      );
      expect(rows.map((r) => r.status)).toEqual(['ok', 'invalid', 'ok']);
      expect(rows[1].detail).toMatch(/json/);
      const stored = await client.query('SELECT stream_id FROM evident_events WHERE event_id = ANY($1::uuid[]) ORDER BY stream_id', [ids]);
      expect(stored.rows.map((r) => r.stream_id)).toEqual(['s1', 's3']);
    } finally {
      await client.end();
    }
  });

  it('two stores appending to the same streams in opposite orders neither deadlock nor lose an append', async () => {
    const other = await PostgresEventStore.open({ connectionString: database.url });
    try {
      const streams = Array.from({ length: 6 }, () => `x-${uuidv7()}`);
      const rounds = 30;
      await Promise.all([store, other].map(async (s, k) => {
        for (let r = 0; r < rounds; r++) {
          const order = k === 0 ? streams : [...streams].reverse();
          await Promise.all(order.map((stream) => s.append(stream, [newEvent()])));
        }
      }));
      for (const stream of streams) expect(await store.readStream(stream)).toHaveLength(rounds * 2);
    } finally {
      await other.close();
    }
  });

  it('close waits for queued appends', async () => {
    const extra = await PostgresEventStore.open({ connectionString: database.url });
    const stream = `q-${uuidv7()}`;
    const pending = Array.from({ length: 10 }, () => extra.append(stream, [newEvent()]));
    await extra.close();
    await expect(Promise.all(pending)).resolves.toHaveLength(10);
    expect(await store.readStream(stream)).toHaveLength(10);
  });
});

/** Bound for outcomes awaited below: generous for a busy machine; they are outcomes, not timings. */
const OUTCOME_WAIT_MS = 30_000;

describe.skipIf(skip)('postgres subscriptions and transactions elsewhere in the database', () => {
  let database: TestDatabase;
  beforeAll(async () => { database = await createTestDatabase(); });
  afterAll(async () => { await database?.drop(); });

  /**
   * A store whose idle poll is an hour (whatever arrives does so because the subscription noticed
   * the rows held back), a subscription from its head, and an append held back by a transaction
   * that `other` opened before it. `lookAhead` wraps the subscription's look ahead.
   */
  async function heldBackAppend(lookAhead: (other: pg.Client, look: () => Promise<boolean>) => Promise<boolean>) {
    const store = await PostgresEventStore.open({ connectionString: database.url, idlePollMs: 3_600_000 });
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    const probe = store as unknown as { committedAhead(after: bigint, filter: unknown): Promise<boolean> };
    const committedAhead = probe.committedAhead.bind(store);
    probe.committedAhead = (after, filter) => lookAhead(other, () => committedAhead(after, filter));
    const subscription = store.subscribeToAll({ after: await store.headPosition() });
    const dispose = async () => {
      await subscription.close();
      await other.end();
      await store.close();
    };
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()'); // an id older than the append's: readers hold back what commits after it
      const appended = await store.append(`h-${uuidv7()}`, [newEvent('HeldBack')]);
      expect(await store.readAll({ after: appended.position - 1n })).toEqual([]); // committed, not readable yet
      return { other, subscription, appended, dispose };
    } catch (error) {
      await dispose();
      throw error;
    }
  }

  it('an append held back by an older open transaction (a read-model write, say) is delivered once that one ends, not at the next idle poll', async () => {
    let noticed!: () => void;
    const noticedHeldBack = new Promise<void>((resolve) => { noticed = resolve; });
    // Noticed when the subscription, after a short read, finds rows held back (the look it takes then).
    const held = await heldBackAppend(async (_other, look) => {
      const ahead = await look();
      if (ahead) noticed();
      return ahead;
    });
    try {
      const arrived = take(held.subscription, 1);
      await within(noticedHeldBack, OUTCOME_WAIT_MS, 'the subscription never noticed the rows held back');
      await held.other.query('COMMIT'); // no append, so no wake-up: only the subscription's own look ahead finds it
      expect((await arrived).map((e) => e.position)).toEqual([held.appended.position]);
    } finally {
      await held.dispose();
    }
  });

  it('and when the older transaction ends between the short read and the look ahead, the append is still read at once', async () => {
    // The look ahead runs just after the other transaction ended: the row is readable by then, and
    // nothing will wake the subscription for it.
    const held = await heldBackAppend(async (other, look) => {
      await other.query('COMMIT').catch(() => {}); // the first time; later ones are outside a transaction
      return look();
    });
    try {
      expect((await take(held.subscription, 1)).map((e) => e.position)).toEqual([held.appended.position]);
    } finally {
      await held.dispose();
    }
  });
});
