import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { pollingSubscription } from '../../../src/infra/event-store/polling-subscription.ts';
import type { ReadAllOptions, RecordedEvent } from '../../../src/infra/event-store/port.ts';
import { Wakeup } from '../../../src/infra/wakeup.ts';
import { newEvent, take } from '../../support/events.ts';

// The subscription loop on its own, over an in-memory log; the contract suite runs it on both stores.
// The idle poll is a day long, so anything that arrives does so because of a wake-up or a full page.
const DAY_MS = 86_400_000;

function log(count: number) {
  const events: RecordedEvent[] = [];
  const calls: ReadAllOptions[] = [];
  const add = (n: number) => {
    for (let i = 0; i < n; i++) {
      const position = BigInt(events.length + 1);
      events.push({ ...newEvent('E', { i: events.length }), stream: 's', revision: position - 1n, position });
    }
  };
  add(count);
  const readAll = async (options: ReadAllOptions) => {
    calls.push(options);
    return events.filter((e) => e.position > (options.after ?? 0n)).slice(0, options.maxCount);
  };
  return { events, calls, add, readAll };
}

describe('pollingSubscription', () => {
  it('reads pages of 500 by default from `after`, and the next page at once while pages are full', async () => {
    const source = log(1001);
    const subscription = pollingSubscription(source.readAll, new Wakeup(), { after: 1n, filter: { eventTypes: ['E'] } }, DAY_MS);
    const seen: bigint[] = [];
    for await (const event of subscription) {
      seen.push(event.position);
      if (seen.length === 1000) break;
    }
    expect(seen).toEqual(source.events.slice(1).map((e) => e.position));
    expect(source.calls.map((c) => [c.after, c.maxCount])).toEqual([[1n, 500], [501n, 500]]);
    expect(source.calls[0]!.filter).toEqual({ eventTypes: ['E'] });
    await subscription.close();
  });

  it('a wake-up while a read is on its way is not lost: the append it announces is read at once, not at the next poll', async () => {
    // PostgreSQL: the read is a round trip, and an append can commit (and fire) after the read's snapshot.
    const source = log(0);
    const wake = new Wakeup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let reads = 0;
    let firstReadStarted!: () => void;
    const started = new Promise<void>((resolve) => { firstReadStarted = resolve; });
    const readAll = async (options: ReadAllOptions) => {
      reads++;
      if (reads === 1) {
        const snapshot = await source.readAll(options); // taken before the append below
        firstReadStarted();
        await held;
        return snapshot;
      }
      return source.readAll(options);
    };
    const subscription = pollingSubscription(readAll, wake, {}, DAY_MS);
    const arrived = take(subscription, 1);
    await started;
    source.add(1);
    wake.fire(); // the append's wake-up, while the first read is still on its way back
    release();
    expect((await arrived).map((e) => e.position)).toEqual([1n]);
    expect(reads).toBe(2);
    await subscription.close();
  });

  it('while events are held back (committed, not readable yet) it reads again soon, without a wake-up', async () => {
    const source = log(0);
    let held = true;
    const heldBack = async () => {
      if (!held) return false;
      // The older transaction ends: the event becomes readable, and nothing fires.
      held = false;
      source.add(1);
      return true;
    };
    const subscription = pollingSubscription(source.readAll, new Wakeup(), {}, DAY_MS, undefined, heldBack);
    expect((await take(subscription, 1)).map((e) => e.position)).toEqual([1n]);
    expect(source.calls.map((c) => c.after)).toEqual([0n, 0n]);
    await subscription.close();
  });

  it('after a short page it waits for a wake-up, then reads on from the last position it delivered', async () => {
    const source = log(3);
    const wake = new Wakeup();
    const subscription = pollingSubscription(source.readAll, wake, { batchSize: 2 }, DAY_MS);
    const iterator = subscription[Symbol.asyncIterator]();
    const first = await Promise.all([iterator.next(), iterator.next(), iterator.next()]);
    expect(first.map((r) => r.value?.position)).toEqual([1n, 2n, 3n]);
    const pending = iterator.next();
    for (let i = 0; i < 5; i++) await turn();
    expect(source.calls.map((c) => c.after)).toEqual([0n, 2n]); // asleep after the short page
    source.add(1);
    wake.fire();
    expect((await pending).value?.position).toBe(4n);
    expect(source.calls.map((c) => c.after)).toEqual([0n, 2n, 3n]);
    await subscription.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it('close() ends an iteration that is waiting, and nothing is delivered after it', async () => {
    const source = log(0);
    const subscription = pollingSubscription(source.readAll, new Wakeup(), {}, DAY_MS);
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = iterator.next();
    for (let i = 0; i < 5; i++) await turn();
    source.add(2);
    await subscription.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('stops between the events of a page once closed', async () => {
    const source = log(3);
    const subscription = pollingSubscription(source.readAll, new Wakeup(), {}, DAY_MS);
    const seen: bigint[] = [];
    for await (const event of subscription) {
      seen.push(event.position);
      void subscription.close();
    }
    expect(seen).toEqual([1n]);
  });

  it('delivers nothing from a page that arrives after close()', async () => {
    const source = log(2);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const slowRead = async (options: ReadAllOptions) => { await gate; return source.readAll(options); };
    const subscription = pollingSubscription(slowRead, new Wakeup(), {}, DAY_MS);
    const pending = subscription[Symbol.asyncIterator]().next(); // its read is in flight
    const closed = subscription.close();
    release();
    expect(await pending).toEqual({ done: true, value: undefined });
    await closed;
  });
  it('with the head given, a short filtered page moves it past the non-matching events it has seen, and without it does not', async () => {
    const typed = (types: string[]) => types.map((type, i) => ({ ...newEvent(type), stream: 's', revision: BigInt(i), position: BigInt(i + 1) }));
    const events = typed(['A', 'B', 'A', 'A', 'A', 'A']);
    const run = async (withHead: boolean) => {
      const calls: Array<bigint | undefined> = [];
      const readAll = async (options: ReadAllOptions) => {
        calls.push(options.after);
        const wanted = options.filter?.eventTypes ?? [];
        return events.filter((e) => e.position > (options.after ?? 0n) && wanted.includes(e.type)).slice(0, options.maxCount);
      };
      const head = async () => BigInt(events.length);
      const wake = new Wakeup();
      const subscription = pollingSubscription(readAll, wake, { filter: { eventTypes: ['B'] } }, DAY_MS, withHead ? head : undefined);
      const iterator = subscription[Symbol.asyncIterator]();
      expect((await iterator.next()).value?.position).toBe(2n);
      const pending = iterator.next();
      for (let i = 0; i < 5; i++) await turn();
      wake.fire(); // nothing new: one more read, from where the last one left off
      for (let i = 0; i < 5; i++) await turn();
      await subscription.close();
      await pending;
      return calls;
    };
    expect(await run(true)).toEqual([0n, 6n]);
    expect(await run(false)).toEqual([0n, 2n]);
  });
});
