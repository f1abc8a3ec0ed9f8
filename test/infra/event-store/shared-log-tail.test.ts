// The shared tail of the log behind live subscriptions, on a real SQLite log: every subscriber gets
// exactly what a subscription of its own would (same order, no gap, no repeat), from before the
// buffer, across the buffer and live, while the store is polled once for all of them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AllFilter, ReadAllOptions, RecordedEvent, Subscription } from '../../../src/infra/event-store/port.ts';
import { SharedLogTail } from '../../../src/infra/event-store/shared-log-tail.ts';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { newEvent, take } from '../../support/events.ts';
import { within } from '../../support/within.ts';

describe('SharedLogTail on a SQLite log', () => {
  let dir: string;
  let store: SqliteEventStore;
  let tail: SharedLogTail;
  const open: Subscription[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evident-shared-tail-'));
    store = new SqliteEventStore(join(dir, 'events.db'));
  });

  afterEach(async () => {
    for (const subscription of open.splice(0)) await subscription.close();
    await tail?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function subscribe(after: bigint, filter?: AllFilter): Subscription {
    const subscription = tail.subscribeToAll({ after, filter, batchSize: 7 });
    open.push(subscription);
    return subscription;
  }

  async function appendMixed(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await store.append(i % 3 === 0 ? `doc-${i % 2}` : `conversation-${i}`, [newEvent(i % 2 === 0 ? 'Even' : 'Odd', { i })]);
    }
  }

  const positions = (events: RecordedEvent[]) => events.map((e) => e.position);

  it('fifty live subscribers get every event while only the shared tail reads the store', async () => {
    tail = new SharedLogTail(store);
    await appendMixed(5);
    const reads: ReadAllOptions[] = [];
    const readAll = store.readAll.bind(store);
    vi.spyOn(store, 'readAll').mockImplementation(async (options) => { reads.push(options ?? {}); return readAll(options); });
    const head = await store.headPosition();
    const subscribers = Array.from({ length: 50 }, (_, i) => subscribe(head, i % 2 === 0 ? { eventTypes: ['Even'] } : undefined));
    const arrivals = subscribers.map((s, i) => take(s, i % 2 === 0 ? 10 : 20));
    await appendMixed(20);
    const got = await Promise.all(arrivals);
    const all = await readAll({ after: head });
    for (const [i, events] of got.entries()) {
      expect(positions(events)).toEqual(positions(i % 2 === 0 ? all.filter((e) => e.type === 'Even') : all));
    }
    // Subscribers that start at the head never read the log themselves: every read is the tail's own.
    expect(reads.filter((r) => r.filter !== undefined)).toEqual([]);
    expect(new Set(reads.map((r) => r.filter))).toEqual(new Set([undefined]));
  });

  it('a subscriber from before the buffer reads the store, then follows the buffer and live events, without gap or repeat', async () => {
    tail = new SharedLogTail(store, { bufferSize: 4 });
    await appendMixed(30);
    const early = subscribe(await store.headPosition());
    await appendMixed(12); // the buffer keeps the last 4 of these
    await take(early, 12);
    const filter = { streamPrefix: 'doc-' };
    const late = subscribe(3n, filter);
    const first = await take(late, 3);
    await appendMixed(9);
    const expected = (await store.readAll({ after: 3n, filter, maxCount: 1000 }));
    const rest = await take(late, expected.length - 3);
    expect(positions([...first, ...rest])).toEqual(positions(expected));
    expect([...first, ...rest].every((e) => e.stream.startsWith('doc-'))).toBe(true);
  });

  it('a slow subscriber that the buffer has passed catches up from the store, in order and once', async () => {
    tail = new SharedLogTail(store, { bufferSize: 3 });
    const head = await store.headPosition();
    const slow = subscribe(head);
    const fast = subscribe(head);
    await store.append('s', [newEvent('Even')]);
    expect(await take(slow, 1)).toHaveLength(1);
    await appendMixed(25);
    await take(fast, 26); // the tail has moved far past the slow one's place
    const rest = await take(slow, 25);
    const all = await store.readAll({ after: head });
    expect(positions(rest)).toEqual(positions(all.slice(1)));
  });

  it('starts again once every subscriber has left, from where a new one asks', async () => {
    tail = new SharedLogTail(store);
    const first = subscribe(0n);
    await store.append('a', [newEvent('Even')]);
    await take(first, 1);
    await first.close();
    await appendMixed(4);
    const second = subscribe(1n, { eventTypes: ['Odd'] });
    const arrivals = take(second, 4);
    await appendMixed(4);
    const all = await store.readAll({ after: 1n, filter: { eventTypes: ['Odd'] } });
    expect(positions(await arrivals)).toEqual(positions(all));
  });

  it('close ends the subscribers still open, and one that starts after it ends at once without touching the log', async () => {
    tail = new SharedLogTail(store);
    const subscriber = subscribe(0n);
    await store.append('a', [newEvent('Even')]);
    await take(subscriber, 1);
    const next = subscriber[Symbol.asyncIterator]().next();
    await tail.close();
    expect(await within(next, 10_000, 'the open subscriber to end')).toEqual({ done: true, value: undefined });
    const readAll = vi.spyOn(store, 'readAll');
    const subscribeToAll = vi.spyOn(store, 'subscribeToAll');
    const headPosition = vi.spyOn(store, 'headPosition');
    expect(await within(subscribe(0n)[Symbol.asyncIterator]().next(), 10_000, 'a subscriber after close to end'))
      .toEqual({ done: true, value: undefined });
    expect([readAll, subscribeToAll, headPosition].map((spy) => spy.mock.calls.length)).toEqual([0, 0, 0]);
  });

  it('a failing read of the store ends its subscribers with the error', async () => {
    tail = new SharedLogTail(store);
    const subscriber = subscribe(0n);
    await store.append('a', [newEvent('Even')]);
    await take(subscriber, 1);
    vi.spyOn(store, 'readAll').mockRejectedValue(new Error('disk gone'));
    await store.append('a', [newEvent('Even')]);
    await expect(take(subscriber, 1)).rejects.toThrow('disk gone');
  });
});
