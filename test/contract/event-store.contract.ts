import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from '../../src/infra/event-store/errors.ts';
import { MAX_EVENT_BYTES, type EventStore, type RecordedEvent } from '../../src/infra/event-store/port.ts';
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
}

let streamCounter = 0;
const uniqueStream = (prefix = 'test') => `${prefix}-${Date.now()}-${++streamCounter}-${uuidv7().slice(-6)}`;

async function collect(store: EventStore, until: (events: RecordedEvent[]) => boolean, options: Parameters<EventStore['subscribeToAll']>[0] = {}) {
  const subscription = store.subscribeToAll(options);
  const seen: RecordedEvent[] = [];
  for await (const event of subscription) {
    seen.push(event);
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
        await expect(store.append(uniqueStream(), [a])).rejects.toBeInstanceOf(DuplicateEventIdError);
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

    it('subscribes to $all: catch-up, then live, with a filter', async () => {
      const before = await store.headPosition();
      const stream = uniqueStream('sub');
      await store.append(stream, [newEvent('Old', { i: 1 }), newEvent('Skip', { i: 2 })]);
      const seen = collect(store, (events) => events.length === 3, { after: before, filter: { eventTypes: ['Old', 'New'] } });
      await new Promise((r) => setTimeout(r, 50));
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
