import { Wakeup } from '../wakeup.ts';
import { matchesAllFilter } from './all-filter.ts';
import type { EventStore, RecordedEvent, SubscribeOptions, Subscription } from './port.ts';

const DEFAULT_BUFFER = 2_000;
const DEFAULT_BATCH = 500;

/**
 * One subscription to the log's tail, shared by every live subscriber (the audit feed, document
 * updates): a thousand open feeds poll the store once, not a thousand times, and each event is read
 * and decoded once. The newest events are kept in a buffer; a subscriber that starts before it (or
 * falls behind it) reads the store itself until the buffer covers where it is, then follows the
 * buffer. Filters are applied per subscriber, as the store would apply them.
 *
 * Why this is gap-free: the shared subscription delivers every event in position order, so once it
 * has delivered position T, every event up to T is visible to a read. A subscriber's own read that
 * comes back short has therefore seen every matching event up to the tail taken before it.
 */
export class SharedLogTail {
  private readonly store: EventStore;
  private readonly bufferSize: number;
  /** Subscribers waiting for the next arrival, with no timer and no listener per wait (each has one abort listener of its own). */
  private readonly arrivals = new Wakeup();
  private buffer: RecordedEvent[] = [];
  /** Every event in (coverStart, tail] is in the buffer. */
  private coverStart = 0n;
  private tail = 0n;
  private running: { subscription: Subscription; pump: Promise<void> } | null = null;
  private starting: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private subscribers = 0;
  /** Set by close(): open subscribers end, and nothing starts the tail again. */
  private closed = false;

  constructor(store: EventStore, options: { bufferSize?: number } = {}) {
    this.store = store;
    this.bufferSize = options.bufferSize ?? DEFAULT_BUFFER;
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const controller = new AbortController();
    const iterator = this.follow(options, controller.signal);
    return {
      [Symbol.asyncIterator]: () => iterator,
      async close() {
        controller.abort();
        await iterator.return(undefined);
      },
    };
  }

  /** Ends the shared subscription; subscribers still open end with it, and later ones end at once. */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => {});
    await this.stopTail();
    this.arrivals.fire();
  }

  private async *follow(options: SubscribeOptions, signal: AbortSignal): AsyncGenerator<RecordedEvent> {
    const batchSize = options.batchSize ?? DEFAULT_BATCH;
    const filter = options.filter;
    let position = options.after ?? 0n;
    let waiting: ReturnType<Wakeup['wait']> | null = null;
    const onAbort = () => waiting?.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    this.subscribers++;
    try {
      await this.ensureTail();
      while (!signal.aborted && !this.closed) {
        if (this.failure) throw this.failure.error;
        if (position < this.coverStart) {
          // Before the buffer: read the store itself, up to what the tail has delivered.
          const tailAtRead = this.tail;
          const page = await this.store.readAll({ after: position, maxCount: batchSize, filter });
          for (const event of page) {
            if (signal.aborted) return;
            position = event.position;
            yield event;
          }
          if (page.length < batchSize && tailAtRead > position) position = tailAtRead;
          continue;
        }
        const next = this.after(position);
        if (next.length === 0) {
          // Registered in the same turn as the look at the buffer, so an arrival in between is not missed.
          const arrival = this.arrivals.wait();
          waiting = arrival;
          await arrival.promise;
          waiting = null;
          continue;
        }
        for (const event of next) {
          if (signal.aborted) return;
          position = event.position;
          // `next` is a copy of a complete stretch of the log: evictions meanwhile do not matter.
          if (matchesAllFilter(filter, event)) yield event;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.subscribers--;
      if (this.subscribers === 0 && !this.closed) await this.stopTail();
    }
  }

  /** The buffered events after `position` (which the buffer covers). */
  private after(position: bigint): RecordedEvent[] {
    const buffer = this.buffer;
    let low = 0;
    let high = buffer.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (buffer[mid]!.position <= position) low = mid + 1;
      else high = mid;
    }
    return low === buffer.length ? [] : buffer.slice(low);
  }

  private ensureTail(): Promise<void> {
    if (this.closed || (this.running && !this.failure)) return Promise.resolve();
    this.starting ??= (async () => {
      if (this.running) await this.stopTail();
      const head = await this.store.headPosition();
      this.buffer = [];
      this.coverStart = head;
      this.tail = head;
      this.failure = null;
      if (this.closed) return;
      const subscription = this.store.subscribeToAll({ after: head });
      this.running = { subscription, pump: this.pump(subscription) };
    })().finally(() => { this.starting = null; });
    return this.starting;
  }

  private async pump(subscription: Subscription): Promise<void> {
    try {
      for await (const event of subscription) {
        this.buffer.push(event);
        this.tail = event.position;
        if (this.buffer.length > this.bufferSize) {
          const dropped = this.buffer.splice(0, this.buffer.length - this.bufferSize);
          this.coverStart = dropped.at(-1)!.position;
        }
        this.arrivals.fire();
      }
    } catch (error) {
      this.failure = { error };
      this.arrivals.fire();
    }
  }

  private async stopTail(): Promise<void> {
    const running = this.running;
    this.running = null;
    if (!running) return;
    await running.subscription.close();
    await running.pump;
    this.arrivals.fire();
  }
}
