import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from '../../src/infra/event-store/errors.ts';
import {
  MAX_EVENT_BYTES, MAX_EVENTS_PER_APPEND, MAX_STREAM_NAME_LENGTH, type EventStore, type NewEvent, type RecordedEvent,
} from '../../src/infra/event-store/port.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { newEvent } from '../support/events.ts';

export interface EventStoreFixture {
  store: EventStore;
  dispose(): Promise<void>;
}

export interface ContractOptions {
  /** Concurrent writers and appends per writer for the subscriber-under-load test. */
  writers: number;
  appendsPerWriter: number;
  /**
   * Whether an event id already used in one stream is refused in another (SQLite, PostgreSQL: a unique
   * index). KurrentDB only checks ids against the stream being appended to (docs/architecture.md).
   */
  eventIdsUniqueAcrossStreams?: boolean;
}

/** 2,000 appends per writer; `npm run mutate` runs lighter (vitest.mutate.config.ts), once per mutant. */
export const LOAD_APPENDS_PER_WRITER = Number(process.env.EVENT_STORE_CONTRACT_APPENDS_PER_WRITER ?? 2000);

let streamCounter = 0;
const uniqueStream = (prefix = 'test') => `${prefix}-${Date.now()}-${++streamCounter}-${uuidv7().slice(-6)}`;

async function collect(
  store: EventStore, until: (events: RecordedEvent[]) => boolean, options: Parameters<EventStore['subscribeToAll']>[0] = {},
  onEvent: (events: RecordedEvent[]) => void = () => {},
) {
  const subscription = store.subscribeToAll(options);
  const seen: RecordedEvent[] = [];
  for await (const event of subscription) {
    seen.push(event);
    onEvent(seen);
    if (until(seen)) break;
  }
  await subscription.close();
  return seen;
}

/**
 * $all may show an acknowledged event a moment later than its stream does (PostgreSQL holds back rows
 * until every older transaction has finished), so reads of $all right after an append wait for it.
 */
async function readAllUntil(store: EventStore, options: Parameters<EventStore['readAll']>[0], count: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = await store.readAll(options);
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function eventStoreContract(name: string, open: () => Promise<EventStoreFixture>, options: ContractOptions): void {
  describe(`event store contract: ${name}`, () => {
    let fixture: EventStoreFixture;
    let store: EventStore;
    beforeAll(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterAll(async () => fixture?.dispose());

    it('appends to a new stream and reads it back with envelope and metadata', async () => {
      const stream = uniqueStream();
      const event = newEvent('ThingHappened', { n: 1, nested: { ok: true }, text: 'héllo ✓' });
      const result = await store.append(stream, [event], { expectedRevision: 'no_stream' });
      expect(result.nextRevision).toBe(0n);
      expect(result.position).toBeGreaterThan(0n);
      const [read] = await store.readStream(stream);
      expect(read).toMatchObject({
        id: event.id, stream, revision: 0n, position: result.position, type: 'ThingHappened', schemaVersion: 1,
        data: event.data, metadata: event.metadata,
      });
    });

    it('appends several events atomically with consecutive revisions and increasing positions', async () => {
      const stream = uniqueStream();
      const events = [newEvent('A'), newEvent('B'), newEvent('C')];
      const result = await store.append(stream, events);
      expect(result.nextRevision).toBe(2n);
      const read = await store.readStream(stream);
      expect(read.map((e) => e.revision)).toEqual([0n, 1n, 2n]);
      expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(read[2]!.position).toBe(result.position);
      expect(read[0]!.position < read[1]!.position && read[1]!.position < read[2]!.position).toBe(true);
    });

    it('reads a stream forwards and backwards from a revision with a max count', async () => {
      const stream = uniqueStream();
      await store.append(stream, Array.from({ length: 10 }, (_, i) => newEvent('N', { i })));
      expect((await store.readStream(stream, { from: 3n, maxCount: 4 })).map((e) => e.revision)).toEqual([3n, 4n, 5n, 6n]);
      expect((await store.readStream(stream, { direction: 'backwards', maxCount: 3 })).map((e) => e.revision)).toEqual([9n, 8n, 7n]);
      expect((await store.readStream(stream, { direction: 'backwards', from: 2n })).map((e) => e.revision)).toEqual([2n, 1n, 0n]);
      expect(await store.readStream(uniqueStream('missing'))).toEqual([]);
    });

    describe('expected revision', () => {
      it('no_stream fails on an existing stream with the actual revision, appending nothing', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent(), newEvent()]);
        const error = await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error.actual).toBe(1n);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('stream_exists fails on a missing stream and succeeds on an existing one', async () => {
        const stream = uniqueStream();
        const error = await store.append(stream, [newEvent()], { expectedRevision: 'stream_exists' }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error.actual).toBe('no_stream');
        expect(await store.readStream(stream)).toEqual([]);
        await store.append(stream, [newEvent()]);
        expect((await store.append(stream, [newEvent()], { expectedRevision: 'stream_exists' })).nextRevision).toBe(1n);
      });

      it('an exact revision must match the current one', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()], { expectedRevision: 'no_stream' });
        expect((await store.append(stream, [newEvent()], { expectedRevision: 0n })).nextRevision).toBe(1n);
        const error = await store.append(stream, [newEvent(), newEvent()], { expectedRevision: 0n }).catch((e) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error.actual).toBe(1n);
        expect(error.code).toBe('CONFLICT');
        const missing = await store.append(uniqueStream(), [newEvent()], { expectedRevision: 0n }).catch((e) => e);
        expect(missing).toBeInstanceOf(WrongExpectedRevisionError);
        expect(missing.actual).toBe('no_stream');
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('of many concurrent appends at the same revision exactly one wins', async () => {
        const stream = uniqueStream();
        await store.append(stream, [newEvent()]);
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, () => store.append(stream, [newEvent()], { expectedRevision: 0n })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(stream)).toHaveLength(2);
      });
    });

    describe('idempotency', () => {
      it('re-appending the same event ids returns the original result without duplicating', async () => {
        const stream = uniqueStream();
        const events = [newEvent('A'), newEvent('B')];
        const first = await store.append(stream, events, { expectedRevision: 'no_stream' });
        const again = await store.append(stream, events, { expectedRevision: 'no_stream' });
        expect(again).toEqual(first);
        const concurrent = await Promise.all([store.append(stream, events), store.append(stream, events)]);
        expect(concurrent).toEqual([first, first]);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('concurrent first appends of the same new events store them once', async () => {
        const stream = uniqueStream();
        const events = [newEvent('A')];
        const results = await Promise.all(Array.from({ length: 5 }, () => store.append(stream, events)));
        expect(new Set(results.map((r) => r.position)).size).toBe(1);
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('reusing event ids in another stream or a different batch is rejected', async () => {
        const stream = uniqueStream();
        const a = newEvent('A');
        const b = newEvent('B');
        await store.append(stream, [a, b]);
        if (options.eventIdsUniqueAcrossStreams !== false) {
          await expect(store.append(uniqueStream(), [a])).rejects.toBeInstanceOf(DuplicateEventIdError);
        }
        await expect(store.append(stream, [b, newEvent()])).rejects.toBeInstanceOf(DuplicateEventIdError);
        expect(await store.readStream(stream)).toHaveLength(2);
      });
    });

    describe('bad input appends nothing', () => {
      const cases: Array<[string, () => unknown[]]> = [
        ['an oversized event', () => [newEvent('Big', { blob: 'x'.repeat(MAX_EVENT_BYTES) })]],
        ['data that is not an object', () => [{ ...newEvent(), data: [1, 2] }]],
        ['an id that is not a UUID', () => [{ ...newEvent(), id: 'nope' }]],
        ['an empty type', () => [{ ...newEvent(), type: '' }]],
        ['a bad schema version', () => [{ ...newEvent(), schemaVersion: 0 }]],
        ['metadata without a time', () => [{ ...newEvent(), metadata: { correlationId: 'c' } }]],
        ['data that cannot be serialised', () => [newEvent('X', { big: 10n })]],
        ['a NUL character', () => [newEvent('X', { s: 'a\u0000b' })]],
        ['a bad event among good ones', () => [newEvent(), { ...newEvent(), id: 'bad' }, newEvent()]],
        ['no events at all', () => []],
      ];
      for (const [label, events] of cases) {
        it(`rejects ${label}`, async () => {
          const stream = uniqueStream();
          await expect(store.append(stream, events() as never)).rejects.toBeInstanceOf(InvalidEventError);
          expect(await store.readStream(stream)).toEqual([]);
        });
      }

      it('rejects bad stream names and reserved ones', async () => {
        await expect(store.append('', [newEvent()])).rejects.toBeInstanceOf(InvalidEventError);
        await expect(store.append('$all', [newEvent()])).rejects.toBeInstanceOf(InvalidEventError);
        await expect(store.append('x'.repeat(300), [newEvent()])).rejects.toBeInstanceOf(InvalidEventError);
      });

      it('rejects an id that appears twice in one append, even in a new stream', async () => {
        const stream = uniqueStream();
        const twice = newEvent('A');
        const error = await store.append(stream, [twice, newEvent('B'), { ...twice, type: 'C' }]).catch((e) => e);
        expect(error).toBeInstanceOf(InvalidEventError);
        expect(error.message).toMatch(/appears twice/);
        expect(await store.readStream(stream)).toEqual([]);
        // The id is still free afterwards.
        expect((await store.append(stream, [twice])).nextRevision).toBe(0n);
      });

      it.each([
        ['a negative exact revision', -1n],
        ['a number instead of a bigint', 0],
        ['an unknown keyword', 'latest'],
      ])('rejects %s as expected revision', async (_label, expectedRevision) => {
        const stream = uniqueStream();
        await expect(store.append(stream, [newEvent()], { expectedRevision: expectedRevision as never }))
          .rejects.toBeInstanceOf(InvalidEventError);
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('limits, pinned exactly', () => {
      it(`takes ${MAX_EVENTS_PER_APPEND} events in one append and refuses ${MAX_EVENTS_PER_APPEND + 1}`, async () => {
        const stream = uniqueStream();
        const tooMany = Array.from({ length: MAX_EVENTS_PER_APPEND + 1 }, (_, i) => newEvent('N', { i }));
        const error = await store.append(stream, tooMany).catch((e) => e);
        expect(error).toBeInstanceOf(InvalidEventError);
        expect(error.message).toContain(String(MAX_EVENTS_PER_APPEND));
        expect(await store.readStream(stream)).toEqual([]);
        const result = await store.append(stream, tooMany.slice(0, MAX_EVENTS_PER_APPEND), { expectedRevision: 'no_stream' });
        expect(result.nextRevision).toBe(BigInt(MAX_EVENTS_PER_APPEND - 1));
        expect(await store.readStream(stream)).toHaveLength(MAX_EVENTS_PER_APPEND);
      });

      it(`takes an event of exactly ${MAX_EVENT_BYTES} bytes (data and metadata as JSON) and refuses one byte more`, async () => {
        const sized = (bytes: number): NewEvent => {
          const event = newEvent('Sized', { blob: '' });
          // The stored metadata always holds these five fields, in this order.
          const { actorId, correlationId, causationId, requestId, occurredAt } = event.metadata;
          const overhead = Buffer.byteLength(JSON.stringify(event.data))
            + Buffer.byteLength(JSON.stringify({ actorId, correlationId, causationId, requestId, occurredAt }));
          return { ...event, data: { blob: 'x'.repeat(bytes - overhead) } };
        };
        const stream = uniqueStream();
        const error = await store.append(stream, [sized(MAX_EVENT_BYTES + 1)]).catch((e) => e);
        expect(error).toBeInstanceOf(InvalidEventError);
        expect(error.message).toContain(`${MAX_EVENT_BYTES + 1} bytes`);
        expect(await store.readStream(stream)).toEqual([]);
        const fits = sized(MAX_EVENT_BYTES);
        await store.append(stream, [fits]);
        const [read] = await store.readStream(stream);
        expect(read!.data).toEqual(fits.data);
      });

      it(`takes a stream name of exactly ${MAX_STREAM_NAME_LENGTH} characters and refuses ${MAX_STREAM_NAME_LENGTH + 1}`, async () => {
        const base = uniqueStream('long');
        const name = base + 'x'.repeat(MAX_STREAM_NAME_LENGTH - base.length);
        await expect(store.append(`${name}y`, [newEvent()])).rejects.toBeInstanceOf(InvalidEventError);
        expect(await store.readStream(`${name}y`)).toEqual([]);
        expect((await store.append(name, [newEvent()])).nextRevision).toBe(0n);
        expect(await store.readStream(name)).toHaveLength(1);
      });

      it('takes an event type of 128 characters and refuses 129', async () => {
        const stream = uniqueStream();
        await expect(store.append(stream, [newEvent(`T${'x'.repeat(128)}`)])).rejects.toBeInstanceOf(InvalidEventError);
        await store.append(stream, [newEvent(`T${'x'.repeat(127)}`)]);
        expect((await store.readStream(stream)).map((e) => e.type.length)).toEqual([128]);
      });

      it.each([0, -1, 1.5, Number.NaN])('refuses maxCount %s on readStream and readAll', async (maxCount) => {
        await expect(store.readStream(uniqueStream(), { maxCount })).rejects.toBeInstanceOf(InvalidEventError);
        await expect(store.readAll({ maxCount })).rejects.toBeInstanceOf(InvalidEventError);
      });

      it('reads exactly maxCount events, and 1 is allowed', async () => {
        const stream = uniqueStream();
        const before = await store.headPosition();
        await store.append(stream, [newEvent('A'), newEvent('B'), newEvent('C')]);
        expect((await store.readStream(stream, { maxCount: 1 })).map((e) => e.type)).toEqual(['A']);
        expect((await store.readStream(stream, { maxCount: 2 })).map((e) => e.type)).toEqual(['A', 'B']);
        await readAllUntil(store, { after: before, filter: { streamPrefix: stream } }, 3);
        expect((await store.readAll({ after: before, maxCount: 1, filter: { streamPrefix: stream } })).map((e) => e.type)).toEqual(['A']);
        expect((await store.readAll({ after: before, maxCount: 2, filter: { streamPrefix: stream } })).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it('readAll without maxCount returns a page of 1000 events; readStream without one returns the whole stream', async () => {
        const stream = uniqueStream('page');
        const before = await store.headPosition();
        await store.append(stream, Array.from({ length: 1000 }, () => newEvent('P')));
        await store.append(stream, Array.from({ length: 5 }, () => newEvent('P')));
        await readAllUntil(store, { after: before, maxCount: 2000, filter: { streamPrefix: stream } }, 1005);
        expect(await store.readAll({ after: before, filter: { streamPrefix: stream } })).toHaveLength(1000);
        expect(await store.readStream(stream)).toHaveLength(1005);
      });
    });

    it('reads $all after a position, in order, with type and stream-prefix filters', async () => {
      const before = await store.headPosition();
      const base = uniqueStream('all');
      const prefix = `${base}_%`;
      await store.append(`${prefix}-1`, [newEvent('Kept', { i: 1 }), newEvent('Dropped', { i: 2 })]);
      await store.append(`${base}-other`, [newEvent('Kept', { i: 3 })]);
      await store.append(`${prefix}-2`, [newEvent('Kept', { i: 4 })]);
      const all = await readAllUntil(store, { after: before, maxCount: 1000, filter: { streamPrefix: base } }, 4);
      expect(all.map((e) => (e.data as { i: number }).i)).toEqual([1, 2, 3, 4]);
      expect(await store.headPosition() >= all[3]!.position).toBe(true);
      const page = await store.readAll({ after: all[0]!.position, maxCount: 2, filter: { streamPrefix: base } });
      expect(page.map((e) => e.id)).toEqual([all[1]!.id, all[2]!.id]);
      const unfiltered = await store.readAll({ after: all[0]!.position, maxCount: 1 });
      expect(unfiltered[0]!.position > all[0]!.position).toBe(true);
      const filtered = await store.readAll({ after: before, filter: { eventTypes: ['Kept'], streamPrefix: prefix } });
      expect(filtered.map((e) => (e.data as { i: number }).i)).toEqual([1, 4]);
      // LIKE wildcards in a prefix match literally.
      expect(await store.readAll({ after: before, filter: { streamPrefix: `${base}__` } })).toEqual([]);
    });

    it('reads a stream from explicit start and end, and treats an empty type filter as none', async () => {
      const stream = uniqueStream();
      const before = await store.headPosition();
      await store.append(stream, [newEvent('A'), newEvent('B'), newEvent('C')]);
      expect((await store.readStream(stream, { from: 'start' })).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      expect((await store.readStream(stream, { from: 'end', direction: 'backwards' })).map((e) => e.type)).toEqual(['C', 'B', 'A']);
      expect((await store.readStream(stream, { from: 'end' })).map((e) => e.type)).toEqual([]);
      expect((await store.readStream(stream, { from: 'start', direction: 'backwards' })).map((e) => e.type)).toEqual([]);
      const all = await readAllUntil(store, { after: before, filter: { streamPrefix: stream, eventTypes: [] } }, 3);
      expect(all.map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    it('subscribes to $all: catch-up, then live, with a filter', async () => {
      const before = await store.headPosition();
      const stream = uniqueStream('sub');
      await store.append(stream, [newEvent('Old', { i: 1 }), newEvent('Skip', { i: 2 })]);
      let caughtUp!: () => void;
      const firstDelivered = new Promise<void>((resolve) => { caughtUp = resolve; });
      const seen = collect(store, (events) => events.length === 3, { after: before, filter: { eventTypes: ['Old', 'New'] } }, () => caughtUp());
      await firstDelivered; // the old event came by catch-up; what follows can only come live
      await store.append(stream, [newEvent('New', { i: 3 })]);
      await store.append(uniqueStream('noise'), [newEvent('Skip', { i: 4 })]);
      await store.append(stream, [newEvent('New', { i: 5 })]);
      expect((await seen).map((e) => (e.data as { i: number }).i)).toEqual([1, 3, 5]);
    });

    it('a closed subscription ends its iteration', async () => {
      const subscription = store.subscribeToAll({ after: await store.headPosition() });
      const next = subscription[Symbol.asyncIterator]().next();
      await new Promise((r) => setTimeout(r, 20));
      await subscription.close();
      expect((await next).done).toBe(true);
    });

    it(`concurrent writers (${options.writers} x ${options.appendsPerWriter}) while a live subscriber sees every event once, in order`, async () => {
      const before = await store.headPosition();
      const total = options.writers * options.appendsPerWriter;
      const prefix = uniqueStream('load');
      const seen = collect(store, (events) => events.length >= total, { after: before, filter: { streamPrefix: prefix } });
      const acknowledged: bigint[] = [];
      await Promise.all(Array.from({ length: options.writers }, async (_, w) => {
        for (let i = 0; i < options.appendsPerWriter; i++) {
          const result = await store.append(`${prefix}-${w}`, [newEvent('Load', { w, i })], { expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
          acknowledged.push(result.position);
        }
      }));
      const events = await seen;
      expect(events).toHaveLength(total);
      const positions = events.map((e) => e.position);
      for (let i = 1; i < positions.length; i++) expect(positions[i]! > positions[i - 1]!).toBe(true);
      expect(new Set(events.map((e) => e.id)).size).toBe(total);
      expect(new Set(positions)).toEqual(new Set(acknowledged));
      // Per stream, the subscriber saw each writer's events in its own order.
      for (let w = 0; w < options.writers; w++) {
        const mine = events.filter((e) => e.stream === `${prefix}-${w}`).map((e) => (e.data as { i: number }).i);
        expect(mine).toEqual(Array.from({ length: options.appendsPerWriter }, (_, i) => i));
      }
    }, 240_000);
  });
}
