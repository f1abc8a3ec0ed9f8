import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore, NewEvent, RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { ReadDb, SqlExecutor } from '../../src/infra/read-db/port.ts';
import { LEASE_LOCK_NAMESPACE } from '../../src/infra/read-db/postgres-read-db.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { tablesVersion } from '../../src/projections/read-model-changes.ts';
import { ProjectionRunner, type ProjectionRunnerOptions, type ProjectionStatus } from '../../src/projections/runner.ts';
import { metadata, newEvent } from '../support/events.ts';
import { parkingStream } from '../../src/domain/projection/parking.ts';
import { createUpcasterRegistry } from '../../src/domain/upcasting.ts';
import { UpcastingEventStore } from '../../src/infra/event-store/upcasting-event-store.ts';

export interface RunnerEnv {
  store: EventStore;
  db: ReadDb;
  /** Connection string of the PostgreSQL database, when the suite runs on PostgreSQL. */
  connectionString?: string;
  /** A second ReadDb on the same database, as another process would have (PostgreSQL only). */
  openSecondDb?: () => Promise<ReadDb>;
}

export function testLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** Generous bound for waits that must succeed (never a timed assertion: a busy 2-core machine can be slow). */
const WAIT_MS = 60_000;

export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A deliberately non-idempotent projection: it increments a total and blind-inserts one row per
 * event, so applying an event twice either double counts or fails on the primary key. Events of type
 * `<prefix>.Poison` throw until `fixed` is set.
 */
export function counterProjection(name: string, eventPrefix = name) {
  const totals = `${name}_totals`;
  const items = `${name}_items`;
  const control = { fixed: false, delayMs: 0, handled: 0 };
  const types = { counted: `${eventPrefix}.Counted`, poison: `${eventPrefix}.Poison`, other: `${eventPrefix}.Other` };
  const projection: Projection = {
    name,
    tables: [totals, items],
    eventTypes: [types.counted, types.poison],
    async handle(event: RecordedEvent, tx: SqlExecutor) {
      control.handled += 1;
      if (control.delayMs > 0) await sleep(control.delayMs);
      if (event.type === types.poison && !control.fixed) throw new Error(`poison event ${event.id}`);
      const amount = (event.data as { amount?: number }).amount ?? 0;
      await tx.query(
        `INSERT INTO ${totals} (id, n, amount) VALUES ('all', 1, $1)
           ON CONFLICT (id) DO UPDATE SET n = ${totals}.n + 1, amount = ${totals}.amount + excluded.amount`,
        [amount],
      );
      await tx.query(`INSERT INTO ${items} (event_id, position, amount) VALUES ($1, $2, $3)`, [event.id, event.position, amount]);
    },
  };
  return {
    projection,
    control,
    types,
    totals,
    items,
    async createTables(db: ReadDb) {
      await db.exec(`
        CREATE TABLE ${totals} (id text PRIMARY KEY, n integer NOT NULL, amount integer NOT NULL);
        CREATE TABLE ${items} (event_id text PRIMARY KEY, position bigint NOT NULL, amount integer NOT NULL,
          words tsvector GENERATED ALWAYS AS (to_tsvector('simple', event_id)) STORED);
        CREATE INDEX ${items}_by_position ON ${items} (position);
        -- A full-text index, as the read models have: a rebuild builds it after the replay.
        CREATE INDEX ${items}_words ON ${items} USING gin (words);
      `);
    },
    async read(db: ReadDb): Promise<{ n: number; amount: number; items: number }> {
      const { rows } = await db.query<{ n: number | null; amount: number | null; items: number }>(
        `SELECT (SELECT n FROM ${totals} WHERE id = 'all') AS n, (SELECT amount FROM ${totals} WHERE id = 'all') AS amount,
           (SELECT count(*)::int FROM ${items}) AS items`,
      );
      const row = rows[0]!;
      return { n: row.n ?? 0, amount: row.amount ?? 0, items: row.items };
    },
    async rows(db: ReadDb) {
      return (await db.query(`SELECT event_id, position, amount FROM ${items} ORDER BY position`)).rows;
    },
  };
}

function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(3).toString('hex')}`;
}

export function runnerContract(label: string, getEnv: () => RunnerEnv): void {
  describe(`ProjectionRunner on ${label}`, () => {
    const runners: ProjectionRunner[] = [];
    const extraDbs: ReadDb[] = [];

    function runner(projections: Projection[], options: Partial<ProjectionRunnerOptions> = {}): ProjectionRunner {
      const { store, db } = getEnv();
      const r = new ProjectionRunner({
        store, db, projections, logger: testLogger().logger,
        batchSize: 100, idlePollMs: 20, leaseRetryMs: 50, errorBackoffMs: 50, ...options,
      });
      runners.push(r);
      return r;
    }

    async function append(stream: string, events: NewEvent[]): Promise<RecordedEvent[]> {
      const { store } = getEnv();
      await store.append(stream, events);
      const recorded = await store.readStream(stream, { from: 'end', direction: 'backwards', maxCount: events.length });
      return recorded.reverse();
    }

    async function statusOf(r: ProjectionRunner, name: string): Promise<ProjectionStatus> {
      return (await r.status()).find((s) => s.name === name)!;
    }

    afterEach(async () => {
      await Promise.all(runners.splice(0).map((r) => r.stop()));
      await Promise.all(extraDbs.splice(0).map((db) => db.close()));
    });

    it('projects events exactly once, and resumes from its checkpoint after a restart', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('count'));
      await c.createTables(db);
      const stream = `${c.projection.name}-1`;
      const first = await append(stream, [
        ...[1, 2, 3, 4, 5].map((amount) => newEvent(c.types.counted, { amount })),
        newEvent(c.types.other), newEvent('Unrelated'),
      ]);
      const r1 = runner([c.projection]);
      await r1.start();
      const head1 = first.at(-1)!.position;
      expect(await r1.waitFor(head1, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 5, amount: 15, items: 5 });
      expect(await statusOf(r1, c.projection.name)).toEqual({
        name: c.projection.name, state: 'running', position: head1, lagEvents: 0, lagSeconds: 0,
        lastError: null, failedEventId: null, failedPosition: null, eventTypes: c.projection.eventTypes,
      });

      await r1.stop();
      await r1.stop();
      expect((await statusOf(r1, c.projection.name)).state).toBe('stopped');

      const second = await append(stream, [10, 20, 30].map((amount) => newEvent(c.types.counted, { amount })));
      const r2 = runner([c.projection]);
      await r2.start();
      expect(await r2.waitFor(second.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 8, amount: 75, items: 8 });
      expect(c.control.handled).toBe(8);

      // The checkpoint also moves over events the projection ignores: at once in memory (waitFor), in its row once the log is quiet.
      const ignored = await append(stream, [newEvent(c.types.other), newEvent('Unrelated')]);
      expect(await r2.waitFor(ignored.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      await eventually(async () => {
        const { rows } = await db.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [c.projection.name]);
        return BigInt(rows[0]!.position) >= ignored.at(-1)!.position ? true : undefined;
      }, WAIT_MS, 'the checkpoint row to pass the ignored events');
      expect(await c.read(db)).toEqual({ n: 8, amount: 75, items: 8 });
    });

    it('passes over events it does not apply without a read-database transaction', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('skip'));
      await c.createTables(db);
      const stream = `${c.projection.name}-1`;
      const counted = await append(stream, [newEvent(c.types.counted, { amount: 1 })]);
      let transactions = 0;
      const counting: ReadDb = new Proxy(db, {
        get(target, property, receiver) {
          if (property === 'transaction') return (fn: (tx: SqlExecutor) => Promise<unknown>) => { transactions += 1; return target.transaction(fn); };
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const r = runner([c.projection], { db: counting });
      await r.start();
      expect(await r.waitFor(counted[0]!.position, { timeoutMs: WAIT_MS })).toBe(true);
      const before = transactions;
      const ignored: RecordedEvent[] = [];
      for (let i = 0; i < 5; i++) ignored.push(...await append(`${stream}-other`, [newEvent('Unrelated')]));
      expect(await r.waitFor(ignored.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      // Five appends, each seen on its own or together: at most the one transaction that stores the checkpoint after them.
      expect(transactions - before).toBeLessThanOrEqual(1);
      const more = await append(stream, [newEvent(c.types.counted, { amount: 2 })]);
      expect(await r.waitFor(more[0]!.position, { timeoutMs: WAIT_MS })).toBe(true);
      const { rows } = await db.query<{ position: string }>('SELECT position FROM projection_checkpoints WHERE name = $1', [c.projection.name]);
      expect(BigInt(rows[0]!.position)).toBe(more[0]!.position);
      expect(await c.read(db)).toEqual({ n: 2, amount: 3, items: 2 });
    });


    it('lets the event loop run while it catches up over a long run of events it does not apply', async () => {
      const { db, store } = getEnv();
      const c = counterProjection(uniqueName('busy'));
      await c.createTables(db);
      const after = await store.headPosition();
      for (let i = 0; i < 6; i++) await append(`${c.projection.name}-other`, Array.from({ length: 500 }, () => newEvent('Unrelated')));
      const counted = await append(`${c.projection.name}-1`, [newEvent(c.types.counted, { amount: 1 })]);
      const total = Number(counted[0]!.position - after);
      // Counts the events the projection has pulled from its subscription; once it has its first
      // batch, an immediate is queued, and the count when it runs shows how far the catch-up went
      // before the event loop came round.
      let pulled = 0;
      let pulledWhenTurned: number | undefined;
      const watched: EventStore = new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'subscribeToAll') {
            return (options: Parameters<EventStore['subscribeToAll']>[0]) => {
              const subscription = target.subscribeToAll(options);
              const iterator = subscription[Symbol.asyncIterator]();
              return {
                close: () => subscription.close(),
                [Symbol.asyncIterator]: () => ({
                  async next() {
                    const result = await iterator.next();
                    if (!result.done && result.value.position > after && ++pulled === 100) setImmediate(() => { pulledWhenTurned = pulled; });
                    return result;
                  },
                  return: (value?: unknown) => iterator.return!(value),
                }),
              };
            };
          }
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const r = runner([c.projection], { store: watched });
      await r.start();
      expect(await r.waitFor(counted[0]!.position, { timeoutMs: WAIT_MS })).toBe(true);
      // Read from buffers with nothing to write, a catch-up ran on microtasks alone and held the
      // thread to the end of the log: no request served, no timer run, every raced event kept.
      expect(pulledWhenTurned).toBeDefined();
      expect(pulledWhenTurned!).toBeLessThan(total);
      expect(await c.read(db)).toEqual({ n: 1, amount: 1, items: 1 });
    });

    it('stops only the projection that hits a poison event, after committing the events before it', async () => {
      const { db } = getEnv();
      const prefix = uniqueName('poison');
      const failing = counterProjection(`${prefix}_a`, prefix);
      const healthy = counterProjection(`${prefix}_b`, prefix);
      healthy.control.fixed = true;
      await failing.createTables(db);
      await healthy.createTables(db);
      const { logger, lines } = testLogger();
      const events = await append(`${prefix}-1`, [
        newEvent(failing.types.counted, { amount: 1 }),
        newEvent(failing.types.counted, { amount: 2 }),
        newEvent(failing.types.counted, { amount: 3 }),
        newEvent(failing.types.poison, { amount: 100 }),
        newEvent(failing.types.counted, { amount: 4 }),
      ]);
      const poison = events[3]!;
      const r = runner([failing.projection, healthy.projection], { logger });
      await r.start();

      const failed = await eventually(async () => {
        const s = await statusOf(r, failing.projection.name);
        return s.state === 'failed' ? s : undefined;
      }, 60_000, 'the projection to fail');
      expect(failed).toMatchObject({
        position: events[2]!.position,
        failedEventId: poison.id,
        failedPosition: poison.position,
      });
      expect(failed.lastError).toMatch(/poison event/);
      expect(failed.lagEvents).toBeGreaterThanOrEqual(2);
      // Everything before the poison event is committed, exactly once.
      expect(await failing.read(db)).toEqual({ n: 3, amount: 6, items: 3 });
      const { rows } = await db.query(
        'SELECT position, last_error, failed_position, failed_event_id FROM projection_checkpoints WHERE name = $1',
        [failing.projection.name],
      );
      expect(rows[0]).toMatchObject({
        position: events[2]!.position.toString(),
        failed_position: poison.position.toString(),
        failed_event_id: poison.id,
      });
      expect(lines.some((l) => l.projection === failing.projection.name && l.level === 50 && l.eventId === poison.id)).toBe(true);

      // The other projection carries on, including with new events.
      expect(await r.waitFor(events.at(-1)!.position, { projections: [healthy.projection.name], timeoutMs: WAIT_MS })).toBe(true);
      const more = await append(`${prefix}-1`, [newEvent(failing.types.counted, { amount: 5 })]);
      expect(await r.waitFor(more[0]!.position, { projections: [healthy.projection.name], timeoutMs: WAIT_MS })).toBe(true);
      expect(await healthy.read(db)).toEqual({ n: 6, amount: 115, items: 6 });
      expect(await r.waitFor(more[0]!.position, { timeoutMs: 100 })).toBe(false);
      expect((await statusOf(r, failing.projection.name)).state).toBe('failed');

      failing.control.fixed = true;
      await r.retry(failing.projection.name);
      expect(await r.waitFor(more[0]!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await failing.read(db)).toEqual({ n: 6, amount: 115, items: 6 });
      expect(await statusOf(r, failing.projection.name)).toMatchObject({
        state: 'running', lastError: null, failedEventId: null, failedPosition: null,
      });
      const after = await db.query('SELECT last_error, failed_position FROM projection_checkpoints WHERE name = $1', [failing.projection.name]);
      expect(after.rows[0]).toEqual({ last_error: null, failed_position: null });
      await r.retry(failing.projection.name); // no-op when running
    });

    it('retries a failed projection on the next start', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('restart'));
      await c.createTables(db);
      const events = await append(`${c.projection.name}-1`, [
        newEvent(c.types.counted, { amount: 1 }), newEvent(c.types.poison, { amount: 2 }), newEvent(c.types.counted, { amount: 3 }),
      ]);
      const r1 = runner([c.projection]);
      await r1.start();
      await eventually(async () => ((await statusOf(r1, c.projection.name)).state === 'failed' ? true : undefined));
      await r1.stop();
      // Another instance sees the recorded failure in the checkpoint table.
      const observer = runner([c.projection]);
      expect(await statusOf(observer, c.projection.name)).toMatchObject({
        state: 'stopped', failedEventId: events[1]!.id, position: events[0]!.position,
      });

      c.control.fixed = true;
      const r2 = runner([c.projection]);
      await r2.start();
      expect(await r2.waitFor(events.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 3, amount: 6, items: 3 });
      expect((await statusOf(r2, c.projection.name)).lastError).toBeNull();
    });

    it('an event that cannot be upcast stops the projection there; parking it (an event in the log) lets it carry on, also in rebuilds', async () => {
      const { db, store: raw } = getEnv();
      const c = counterProjection(uniqueName('upcast'));
      await c.createTables(db);
      const registry = createUpcasterRegistry({ [c.types.counted]: 1, [c.types.poison]: 1 }, []);
      const store = new UpcastingEventStore(raw, (event) => registry.upcast(event));
      const stream = `${c.projection.name}-1`;
      c.control.fixed = true;
      const events = await append(stream, [
        newEvent(c.types.counted, { amount: 1 }), { ...newEvent(c.types.counted, { amount: 100 }), schemaVersion: 2 },
        newEvent(c.types.counted, { amount: 3 }),
      ]);
      const r = runner([c.projection], { store });
      await r.start();
      const failed = await eventually(async () => {
        const status = await statusOf(r, c.projection.name);
        return status.state === 'failed' ? status : undefined;
      });
      expect(failed).toMatchObject({ failedEventId: events[1]!.id, position: events[0]!.position });
      expect(failed.lastError).toMatch(/newer than this version/);
      expect(await c.read(db)).toEqual({ n: 1, amount: 1, items: 1 });

      await store.append(parkingStream(c.projection.name), [{
        ...newEvent('ProjectionEventParked', { projection: c.projection.name, eventId: events[1]!.id, eventType: c.types.counted,
          position: events[1]!.position.toString(), reason: 'written by a newer version' }),
      }]);
      r.nudge(c.projection.name);
      expect(await r.waitUntilPast(c.projection.name, events[1]!.id, 20_000)).toBe(true);
      expect(await r.waitFor(events.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 2, amount: 4, items: 2 });
      await r.rebuild(c.projection.name);
      expect(await c.read(db)).toEqual({ n: 2, amount: 4, items: 2 });
    });

    it('rebuilds into fresh tables and swaps them in; readers always see a complete model', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('rebuild'));
      await c.createTables(db);
      const stream = `${c.projection.name}-1`;
      let appended: RecordedEvent[] = [];
      for (let batch = 0; batch < 3; batch++) {
        appended = await append(stream, Array.from({ length: 40 }, (_, i) => newEvent(c.types.counted, { amount: batch * 40 + i })));
      }
      const r = runner([c.projection], { batchSize: 15 });
      await r.start();
      // The last append's own position: on PostgreSQL the visible head can lag behind it while another
      // transaction in the cluster is open (that was this test's race, not the runner's).
      const head = appended.at(-1)!.position;
      expect(await r.waitFor(head, { timeoutMs: WAIT_MS })).toBe(true);
      const before = await c.read(db);
      expect(before.n).toBe(120);
      const rowsBefore = await c.rows(db);

      c.control.delayMs = 2; // a slow rebuild, so readers and writers overlap with it
      let done = false;
      let reads = 0;
      const violations: unknown[] = [];
      const reader = (async () => {
        while (!done) {
          try {
            const now = await c.read(db);
            reads += 1;
            if (now.n < before.n || now.items < before.items || now.n !== now.items) violations.push(now);
          } catch (error) {
            violations.push(error);
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const writer = (async () => {
        await sleep(50);
        return append(stream, Array.from({ length: 10 }, () => newEvent(c.types.counted, { amount: 1000 })));
      })();

      const readsBefore = reads;
      await r.rebuild(c.projection.name);
      const readsDuring = reads - readsBefore;
      const added = await writer;
      done = true;
      await reader;
      c.control.delayMs = 0;

      expect(violations).toEqual([]);
      expect(readsDuring).toBeGreaterThan(5);
      expect(await r.waitFor(added.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      const after = await c.read(db);
      expect(after).toEqual({ n: 130, amount: before.amount + 10_000, items: 130 });
      expect((await c.rows(db)).slice(0, rowsBefore.length)).toEqual(rowsBefore);
      // The swapped-in tables keep the index names the migrations gave them, and no trace of the rebuild stays.
      const { rows: indexes } = await db.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname`, [c.items],
      );
      expect(indexes.map((i) => i.indexname)).toEqual([`${c.items}_by_position`, `${c.items}_pkey`, `${c.items}_words`]);
      const { rows: schemas } = await db.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`);
      expect(schemas).toEqual([]);
      expect((await statusOf(r, c.projection.name)).state).toBe('running');
    });

    it('rebuild repairs a damaged model, and revives a failed projection once its handler is fixed', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('repair'));
      await c.createTables(db);
      const events = await append(`${c.projection.name}-1`, [
        newEvent(c.types.counted, { amount: 1 }), newEvent(c.types.counted, { amount: 2 }),
        newEvent(c.types.poison, { amount: 3 }), newEvent(c.types.counted, { amount: 4 }),
      ]);
      const r = runner([c.projection]);
      await r.start();
      await eventually(async () => ((await statusOf(r, c.projection.name)).state === 'failed' ? true : undefined));
      await db.exec(`DELETE FROM ${c.items}; UPDATE ${c.totals} SET n = 0, amount = 0;`);
      await expect(r.rebuild(c.projection.name)).rejects.toThrow(/poison event/);
      // A failed rebuild leaves the live model and state as they were.
      expect((await statusOf(r, c.projection.name)).state).toBe('failed');
      expect(await c.read(db)).toEqual({ n: 0, amount: 0, items: 0 });

      c.control.fixed = true;
      const versionBefore = tablesVersion(c.projection.tables);
      await r.rebuild(c.projection.name);
      expect(await r.waitFor(events.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 4, amount: 10, items: 4 });
      // Caches of the swapped tables (the session cache) know that what they hold came from the old ones.
      expect(tablesVersion(c.projection.tables)).not.toBe(versionBefore);
      expect(await statusOf(r, c.projection.name)).toMatchObject({ state: 'running', lastError: null });
    });

    it('rebuilds a model built by an older version of its projection when it starts, once; a new projection starts at its version', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('versioned'));
      await c.createTables(db);
      const stream = `${c.projection.name}-1`;
      const version = async () => (await db.query<{ version: number }>(
        'SELECT version FROM projection_checkpoints WHERE name = $1', [c.projection.name])).rows[0]?.version;
      const first = await append(stream, [1, 2, 3].map((amount) => newEvent(c.types.counted, { amount })));
      const r1 = runner([c.projection]);
      await r1.start();
      expect(await r1.waitFor(first.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      await r1.stop();
      expect(await c.read(db)).toEqual({ n: 3, amount: 6, items: 3 });
      expect(await version()).toBe(1);

      // Version 2 of the code gives other rows for the same events (ten times the amount).
      const v2: Projection = {
        ...c.projection, version: 2,
        handle: (event, tx) => c.projection.handle({ ...event, data: { amount: (event.data as { amount: number }).amount * 10 } }, tx),
      };
      const more = await append(stream, [newEvent(c.types.counted, { amount: 4 })]);
      const r2 = runner([v2]);
      await r2.start();
      expect(await r2.waitFor(more.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(db)).toEqual({ n: 4, amount: 100, items: 4 }); // every event again, by version 2
      expect(await version()).toBe(2);
      await r2.stop();

      // Built by version 2 now: a restart only applies what is new, and older code (a rolling deploy) does not rebuild back.
      for (const [projection, amount] of [[v2, 5], [c.projection, 6]] as const) {
        const handled = c.control.handled;
        const next = await append(stream, [newEvent(c.types.counted, { amount })]);
        const r = runner([projection]);
        await r.start();
        expect(await r.waitFor(next.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
        await r.stop();
        expect(c.control.handled - handled).toBe(1);
        expect(await version()).toBe(2);
      }
      expect(await c.read(db)).toEqual({ n: 6, amount: 156, items: 6 });

      // A projection that has never run starts at its own version, without a rebuild.
      const fresh = counterProjection(uniqueName('fresh'));
      await fresh.createTables(db);
      const events = await append(`${fresh.projection.name}-1`, [newEvent(fresh.types.counted, { amount: 7 })]);
      const r3 = runner([{ ...fresh.projection, version: 3 }]);
      await r3.start();
      expect(await r3.waitFor(events.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(fresh.control.handled).toBe(1);
      const { rows } = await db.query<{ version: number }>('SELECT version FROM projection_checkpoints WHERE name = $1', [fresh.projection.name]);
      expect(rows[0]!.version).toBe(3);
    });

    it('waitFor resolves true once projections pass a position, false after the timeout', async () => {
      const { db } = getEnv();
      const a = counterProjection(uniqueName('wait_a'));
      const b = counterProjection(uniqueName('wait_b'));
      await a.createTables(db);
      await b.createTables(db);
      const r = runner([a.projection, b.projection]);
      await expect(r.waitFor(0n, { projections: ['nope'] })).rejects.toThrow(/Unknown projection/);
      await r.start();
      const [event] = await append(`${a.projection.name}-1`, [newEvent(a.types.counted, { amount: 1 })]);
      const started = Date.now();
      expect(await r.waitFor(event!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await r.waitFor(event!.position, { projections: [b.projection.name], timeoutMs: WAIT_MS })).toBe(true);

      const beyond = (await getEnv().store.headPosition()) + 1_000_000n;
      const t0 = Date.now();
      expect(await r.waitFor(beyond, { timeoutMs: 150 })).toBe(false);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      expect(Date.now() - t0).toBeLessThan(3000);
    });

    it('stops promptly and idempotently, also before it started', async () => {
      const { db } = getEnv();
      const a = counterProjection(uniqueName('stop_a'));
      const b = counterProjection(uniqueName('stop_b'));
      await a.createTables(db);
      await b.createTables(db);
      const never = runner([a.projection]);
      await never.stop();
      await expect(never.start()).rejects.toThrow(/stopped/);

      const r = runner([a.projection, b.projection]);
      await r.start();
      await expect(r.start()).rejects.toThrow(/already started/);
      await eventually(async () => ((await r.status()).every((s) => s.state === 'running') ? true : undefined));
      const t0 = Date.now();
      await Promise.all([r.stop(), r.stop()]);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect((await r.status()).map((s) => s.state)).toEqual(['stopped', 'stopped']);
      await expect(r.rebuild(a.projection.name)).rejects.toThrow(/stopped/);
      await expect(r.retry(a.projection.name)).rejects.toThrow(/stopped/);
    });

    it('reports lag in events and in seconds', async () => {
      const { db } = getEnv();
      const c = counterProjection(uniqueName('lag'));
      await c.createTables(db);
      const r1 = runner([c.projection]);
      await r1.start();
      expect(await r1.waitFor(await getEnv().store.headPosition(), { timeoutMs: WAIT_MS })).toBe(true);
      await r1.stop();
      const hourAgo = new Date(Date.now() - 3600_000).toISOString();
      await append(`${c.projection.name}-1`, [1, 2, 3].map((amount) => ({
        ...newEvent(c.types.counted, { amount }), metadata: metadata({ occurredAt: hourAgo }),
      })));
      const observer = runner([c.projection]);
      const status = await statusOf(observer, c.projection.name);
      expect(status.lagEvents).toBeGreaterThanOrEqual(3);
      if (getEnv().store.kind === 'sqlite') {
        expect(status.lagEvents).toBe(3);
        expect(status.lagSeconds).toBeGreaterThan(3590);
        expect(status.lagSeconds).toBeLessThan(3700);
      } else {
        // A shared PostgreSQL log: other suites may have appended between the catch-up and these events, so
        // the first unapplied event need not be ours. The lag is that event's age, whichever it is.
        const [first] = await getEnv().store.readAll({ after: status.position, maxCount: 1 });
        const age = (Date.now() - Date.parse(first!.metadata.occurredAt)) / 1000;
        expect(Math.abs(status.lagSeconds - age)).toBeLessThan(60);
      }
    });

    it('a standby instance takes over when the lease holder stops, and waitFor works from it', async (context) => {
      const env = getEnv();
      if (!env.openSecondDb) {
        context.skip();
        return;
      }
      const dbB = await env.openSecondDb();
      extraDbs.push(dbB);
      const c = counterProjection(uniqueName('standby'));
      await c.createTables(env.db);
      const a = runner([c.projection]);
      const b = runner([c.projection], { db: dbB });
      await a.start();
      await eventually(async () => ((await statusOf(a, c.projection.name)).state === 'running' ? true : undefined));
      await b.start();
      await sleep(150);
      expect((await statusOf(b, c.projection.name)).state).toBe('standby');

      const first = await append(`${c.projection.name}-1`, [1, 2, 3].map((amount) => newEvent(c.types.counted, { amount })));
      expect(await a.waitFor(first.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await b.waitFor(first.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true); // polls the checkpoint that a writes
      expect((await statusOf(b, c.projection.name)).position).toBeGreaterThanOrEqual(first.at(-1)!.position);

      await a.stop();
      const second = await append(`${c.projection.name}-1`, [4, 5].map((amount) => newEvent(c.types.counted, { amount })));
      expect(await b.waitFor(second.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect((await statusOf(b, c.projection.name)).state).toBe('running');
      expect(await c.read(env.db)).toEqual({ n: 5, amount: 15, items: 5 });
    });

    it('a standby instance takes over when the holder loses its connection, and the old holder stands by', async (context) => {
      const env = getEnv();
      if (!env.openSecondDb || !env.connectionString) {
        context.skip();
        return;
      }
      const dbA = await env.openSecondDb();
      const dbB = await env.openSecondDb();
      extraDbs.push(dbA, dbB);
      const c = counterProjection(uniqueName('takeover'));
      await c.createTables(env.db);
      // a waits longer before trying again after losing its lease, so that b gets it.
      const a = runner([c.projection], { db: dbA, leaseRetryMs: 1000 });
      const b = runner([c.projection], { db: dbB });
      await a.start();
      await eventually(async () => ((await statusOf(a, c.projection.name)).state === 'running' ? true : undefined));
      await b.start();
      const first = await append(`${c.projection.name}-1`, [newEvent(c.types.counted, { amount: 1 })]);
      expect(await a.waitFor(first[0]!.position, { timeoutMs: WAIT_MS })).toBe(true);

      // The holder's lease connection dies, as when its process is killed.
      const admin = new pg.Client({ connectionString: env.connectionString });
      await admin.connect();
      try {
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) AS killed FROM pg_locks
            WHERE locktype = 'advisory' AND classid = $1 AND objid = hashtext($2)::oid AND granted`,
          [LEASE_LOCK_NAMESPACE, `projection:${c.projection.name}`],
        );
        expect(rows).toEqual([{ killed: true }]);
      } finally {
        await admin.end();
      }
      await eventually(async () => ((await statusOf(b, c.projection.name)).state === 'running' ? true : undefined));
      await eventually(async () => ((await statusOf(a, c.projection.name)).state === 'standby' ? true : undefined));

      const second = await append(`${c.projection.name}-1`, [2, 3].map((amount) => newEvent(c.types.counted, { amount })));
      expect(await b.waitFor(second.at(-1)!.position, { timeoutMs: WAIT_MS })).toBe(true);
      expect(await c.read(env.db)).toEqual({ n: 3, amount: 6, items: 3 });
    });
  });
}
