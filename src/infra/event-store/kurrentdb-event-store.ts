import { BACKWARDS, END, FORWARDS, KurrentDBClient, START, excludeSystemEvents, type AllStreamSubscription } from '@kurrent/kurrentdb-client';
import {
  clientFilterAccepts, fromPositionFor, isRetryable, isStreamNotFound, mapAppendError, mapReadError,
  serverFilter, toEventData, toRecordedEvent, toStreamState,
} from './kurrentdb-mapping.ts';
import { DuplicateEventIdError } from './errors.ts';
import type {
  AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent, SubscribeOptions,
  Subscription,
} from './port.ts';
import { checkReadCount, validateAppend } from './validate-append.ts';

/** Appends that timed out (or met a follower) are sent again this many times; ids make it idempotent. */
const APPEND_ATTEMPTS = 3;
/** Largest page asked of the server while reading $all. */
const PAGE_LIMIT = 4096;

export interface KurrentDbEventStoreOptions {
  /** kurrentdb://host:2113?tls=false, or kurrentdb+discover://… for a cluster. */
  connectionString: string;
}

/**
 * KurrentDB adapter (docs/architecture.md, "KurrentDB"). Appends go to the stream with the expected
 * revision as stream state; $all reads and subscriptions use server-side filters and never show
 * system events; positions are commit positions (kurrentdb-mapping.ts positionToBigint). Each append
 * reads its last event back, which gives the position of an idempotent replay and checks that the
 * replayed batch is the same one.
 */
export class KurrentDbEventStore implements EventStore {
  readonly kind = 'kurrentdb';
  private readonly client: KurrentDBClient;
  private closed = false;
  private readonly subscriptions = new Set<AllStreamSubscription>();

  private constructor(client: KurrentDBClient) {
    this.client = client;
  }

  /** Connects and checks the server answers (a read of the newest event), so a wrong URL fails at start. */
  static async open(options: KurrentDbEventStoreOptions): Promise<KurrentDbEventStore> {
    const store = new KurrentDbEventStore(KurrentDBClient.connectionString(options.connectionString));
    try {
      await store.headPosition();
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
    return store;
  }

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) throw new Error('Event store is closed');
    const expected = options.expectedRevision ?? 'any';
    const serialized = validateAppend(stream, events, expected);
    const data = serialized.map(toEventData);
    let nextRevision: bigint;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.client.appendToStream(stream, data, { streamState: toStreamState(expected) });
        nextRevision = result.nextExpectedRevision;
        break;
      } catch (error) {
        if (attempt < APPEND_ATTEMPTS && isRetryable(error)) continue;
        throw mapAppendError(error, stream, expected);
      }
    }
    // The last event of the batch, as stored: its position, and proof that a replay matched this batch.
    const [last] = await this.readStream(stream, { from: nextRevision, maxCount: 1 });
    if (!last || last.id !== serialized[serialized.length - 1]!.id) {
      throw new DuplicateEventIdError(`Some event ids of this append were already used in a different append (stream "${stream}")`);
    }
    return { nextRevision, position: last.position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const direction = options.direction ?? 'forwards';
    const maxCount = checkReadCount(options.maxCount, Number.MAX_SAFE_INTEGER);
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    // As in the SQL adapters: nothing lies after the end or before the start.
    if ((direction === 'forwards' && from === 'end') || (direction === 'backwards' && from === 'start')) return [];
    const events: RecordedEvent[] = [];
    try {
      const read = this.client.readStream(stream, {
        fromRevision: from === 'start' ? START : from === 'end' ? END : from,
        direction: direction === 'forwards' ? FORWARDS : BACKWARDS,
        maxCount,
      });
      for await (const resolved of read) {
        const event = toRecordedEvent(resolved);
        if (event) events.push(event);
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw mapReadError(error);
    }
    return events;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = checkReadCount(options.maxCount, 1000);
    const filter = serverFilter(options.filter);
    const kept: RecordedEvent[] = [];
    let after = options.after ?? 0n;
    // fromPosition is inclusive: one more than needed, and what is not after `after` is dropped.
    const page = Math.min(maxCount + 1, PAGE_LIMIT);
    try {
      for (;;) {
        let received = 0;
        const read = this.client.readAll({ fromPosition: fromPositionFor(after), direction: FORWARDS, maxCount: page, filter });
        for await (const resolved of read) {
          received++;
          const event = toRecordedEvent(resolved);
          if (!event || event.position <= after) continue;
          after = event.position;
          if (clientFilterAccepts(options.filter, event)) kept.push(event);
          if (kept.length === maxCount) return kept;
        }
        if (received < page) return kept;
      }
    } catch (error) {
      throw mapReadError(error);
    }
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    const start = options.after ?? 0n;
    const subscription = this.client.subscribeToAll({ fromPosition: fromPositionFor(start), filter: serverFilter(options.filter) });
    this.subscriptions.add(subscription);
    let closed = false;
    const close = async () => {
      closed = true;
      this.subscriptions.delete(subscription);
      await subscription.unsubscribe().catch(() => {});
    };
    async function* run(): AsyncGenerator<RecordedEvent> {
      let last = start;
      try {
        for await (const resolved of subscription) {
          if (closed) return;
          const event = toRecordedEvent(resolved);
          // The server starts after `fromPosition`; the check keeps the port's exclusive start either way.
          if (!event || event.position <= last) continue;
          last = event.position;
          if (clientFilterAccepts(options.filter, event)) yield event;
        }
      } catch (error) {
        if (closed) return;
        throw mapReadError(error);
      } finally {
        await close();
      }
    }
    const iterator = run();
    return {
      [Symbol.asyncIterator]: () => iterator,
      async close() {
        await close();
        await iterator.return(undefined);
      },
    };
  }

  async headPosition(): Promise<bigint> {
    try {
      const read = this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 16, filter: excludeSystemEvents() });
      for await (const resolved of read) {
        const event = toRecordedEvent(resolved);
        if (event) return event.position;
      }
      return 0n;
    } catch (error) {
      throw mapReadError(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe().catch(() => {})));
    this.subscriptions.clear();
    await this.client.dispose();
  }
}
