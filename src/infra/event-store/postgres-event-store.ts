import { readFileSync } from 'node:fs';
import pg from 'pg';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from './errors.ts';
import { connectionConfig, createPool } from '../postgres-pool.ts';
import { orUnavailable, toStoreError } from '../store-unavailable.ts';
import { Wakeup } from '../wakeup.ts';
import { pollingSubscription } from './polling-subscription.ts';
import { MAX_EVENTS_PER_APPEND } from './port.ts';
import type {
  AppendOptions, AppendResult, EventStore, ExpectedRevision, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent,
  SubscribeOptions, Subscription,
} from './port.ts';
import { likePrefix, toRecordedEvent, type EventRow } from './row-mapping.ts';
import { checkReadCount, validateAppend, type SerializedEvent } from './validate-append.ts';

const SCHEMA_SQL = readFileSync(new URL('./postgres-schema.sql', import.meta.url), 'utf8');
const SCHEMA_LOCK = 1163282757;
const CHANNEL = 'evident_events';
const STORE = 'event store';
/** Reconnecting the LISTEN connection: first after this long, doubling up to LISTEN_RETRY_MAX_MS. */
const LISTEN_RETRY_MS = 500;
const LISTEN_RETRY_MAX_MS = 10_000;
const COLUMNS = `global_position AS position, event_id::text AS id, stream_id AS stream, revision, type, schema_version,
  data::text AS data, metadata::text AS metadata`;
/** Only rows of finished transactions: see postgres-schema.sql. */
const FINISHED = 'transaction_id < pg_snapshot_xmin(pg_current_snapshot())';

export interface PostgresEventStoreOptions {
  connectionString: string;
  poolSize?: number;
  /** How many append batches may be in flight at once (each on its own connection); see the class comment. */
  pipeline?: number;
  /** How often an idle subscription reads anyway (default 500 ms); appends here and NOTIFY from other instances wake it sooner. */
  idlePollMs?: number;
}

/** Bounds of one batch: subtransactions (PostgreSQL caches 64 subtransaction ids per backend), events, bytes. */
const MAX_APPENDS_PER_BATCH = 64;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_PIPELINE = 2;

interface PendingAppend {
  stream: string;
  expected: ExpectedRevision;
  events: SerializedEvent[];
  bytes: number;
  attempts: number;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

interface BatchRow {
  append_index: number;
  status: 'ok' | 'replayed' | 'wrong_revision' | 'duplicate' | 'retry' | 'invalid' | 'error';
  next_revision: string | null;
  last_position: string | null;
  detail: string | null;
}

/** The WHERE conditions of an $all filter, their values appended to `params`. */
function filterConditions(filter: ReadAllOptions['filter'], params: unknown[]): string[] {
  const conditions: string[] = [];
  const types = filter?.eventTypes;
  if (types && types.length > 0) {
    params.push(types);
    conditions.push(`type = ANY($${params.length})`);
  }
  if (filter?.streamPrefix) {
    params.push(likePrefix(filter.streamPrefix));
    conditions.push(`stream_id LIKE $${params.length} ESCAPE '\\'`);
  }
  return conditions;
}

/**
 * PostgreSQL adapter. Appends are group-committed: they queue, and whenever fewer than `pipeline`
 * (default 2) batches are in flight, everything queued (bounded by MAX_APPENDS_PER_BATCH appends,
 * MAX_EVENTS_PER_APPEND events and MAX_BATCH_BYTES) goes as one call of `evident_append_batch`: one
 * round trip, one transaction, one commit, one NOTIFY. The batch takes its transaction id and the
 * positions of all its events in one step under the short advisory lock (the global-order invariant of
 * postgres-schema.sql, per batch instead of per append), then runs each append isolated (set-wise in
 * the usual case, else one subtransaction each), so every caller gets the outcome a lone append would
 * have had: its result, WrongExpectedRevisionError, DuplicateEventIdError, InvalidEventError. Appends
 * are sent ordered by stream so that concurrent batches lock stream rows in one order; one that raced
 * another batch (unique violation, deadlock) is sent again alone in the next batch. A connection
 * failure rejects every append of the batch with StoreUnavailableError: whether it committed is
 * unknown, and a retry with the same event ids returns the original result.
 *
 * Live subscribers of other instances are woken by LISTEN/NOTIFY (sent inside each batch, so one per
 * batch); a slow poll covers a lost connection, which is reconnected with back-off. A query that cannot
 * reach the server rejects with StoreUnavailableError.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly wake = new Wakeup();
  private listener: pg.Client | undefined;
  private listenRetryMs = LISTEN_RETRY_MS;
  private listenTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private inFlight = 0;
  private readonly pipeline: number;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly options: PostgresEventStoreOptions;

  private constructor(options: PostgresEventStoreOptions) {
    this.options = options;
    this.pipeline = options.pipeline ?? DEFAULT_PIPELINE;
    this.pool = createPool({ connectionString: options.connectionString, max: options.poolSize ?? 20 });
  }

  static async open(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const store = new PostgresEventStore(options);
    try {
      const client = await store.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
        try {
          await client.query(SCHEMA_SQL);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch((error: unknown) => { broken = error as Error; });
        }
      } finally {
        client.release(broken);
      }
      await store.listen();
    } catch (error) {
      await store.close().catch(() => {});
      throw error;
    }
    return store;
  }

  /** Opens the LISTEN connection; once it breaks, it is reopened with back-off until the store is closed. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(connectionConfig(this.options.connectionString));
    let lost = false;
    const lose = () => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.wake.fire(); // no notifications until reconnected: subscribers poll meanwhile
      this.listenTimer = setTimeout(() => {
        this.listenTimer = undefined;
        this.listen().catch(() => { /* lose() scheduled the next attempt */ });
      }, this.listenRetryMs);
      this.listenTimer.unref();
      this.listenRetryMs = Math.min(this.listenRetryMs * 2, LISTEN_RETRY_MAX_MS);
    };
    client.on('notification', () => this.wake.fire());
    client.on('error', lose);
    client.on('end', lose);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      lose();
      throw toStoreError(STORE, error);
    }
    if (this.closed || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
    this.listenRetryMs = LISTEN_RETRY_MS;
    this.wake.fire(); // appends made while no connection was listening
  }

  append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('Event store is closed'));
    const expected = options.expectedRevision ?? 'any';
    let serialized: SerializedEvent[];
    try {
      serialized = validateAppend(stream, events, expected);
    } catch (error) {
      return Promise.reject(error);
    }
    const bytes = serialized.reduce((sum, e) => sum + e.data.length + e.metadata.length, 0);
    return new Promise((resolve, reject) => {
      this.queue.push({ stream, expected, events: serialized, bytes, attempts: 0, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Sends what is queued once fewer than `pipeline` batches are in flight, after the current turn gathered its appends. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= this.pipeline || this.queue.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.inFlight < this.pipeline && this.queue.length > 0) {
        const batch = this.takeBatch();
        this.inFlight++;
        void this.sendBatch(batch).finally(() => {
          this.inFlight--;
          this.scheduleFlush();
          if (this.inFlight === 0 && this.queue.length === 0) for (const done of this.idleWaiters.splice(0)) done();
        });
      }
    });
  }

  /** The head of the queue, bounded by appends (subtransactions), events and bytes; always at least one append. */
  private takeBatch(): PendingAppend[] {
    let events = 0;
    let bytes = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (count > 0 && (count >= MAX_APPENDS_PER_BATCH || events + pending.events.length > MAX_EVENTS_PER_APPEND
        || bytes + pending.bytes > MAX_BATCH_BYTES)) break;
      count++;
      events += pending.events.length;
      bytes += pending.bytes;
    }
    return this.queue.splice(0, count);
  }

  private async sendBatch(batch: PendingAppend[]): Promise<void> {
    // By stream in UTF-8 byte order (COLLATE "C", as the fast path locks them), keeping the order within a
    // stream: concurrent batches then lock stream rows in one order and cannot deadlock on each other.
    const keys = new Map(batch.map((p) => [p, Buffer.from(p.stream)]));
    const ordered = [...batch].sort((a, b) => Buffer.compare(keys.get(a)!, keys.get(b)!));
    const events = ordered.flatMap((p) => p.events);
    let rows: BatchRow[];
    try {
      ({ rows } = await this.pool.query<BatchRow>(
        `SELECT append_index, status, next_revision, last_position, detail
           FROM evident_append_batch($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::int[], $7::text[], $8::text[])`,
        [
          ordered.map((p) => p.stream),
          ordered.map((p) => String(p.expected)),
          ordered.map((p) => p.events.length),
          events.map((e) => e.id),
          events.map((e) => e.type),
          events.map((e) => e.schemaVersion),
          events.map((e) => e.data),
          events.map((e) => e.metadata),
        ],
      ));
    } catch (error) {
      // Whether the batch committed is unknown: a retry with the same event ids gets the original result.
      const failure = toStoreError(STORE, error);
      for (const pending of batch) pending.reject(failure);
      return;
    }
    let appended = false;
    const retries: PendingAppend[] = [];
    for (const row of rows) {
      const pending = ordered[row.append_index - 1]!;
      switch (row.status) {
        case 'ok':
          appended = true;
          pending.resolve({ nextRevision: BigInt(row.next_revision!), position: BigInt(row.last_position!) });
          break;
        case 'replayed':
          pending.resolve({ nextRevision: BigInt(row.next_revision!), position: BigInt(row.last_position!) });
          break;
        case 'wrong_revision': {
          const actual = BigInt(row.next_revision ?? '-1');
          pending.reject(new WrongExpectedRevisionError(pending.stream, pending.expected, actual < 0n ? 'no_stream' : actual));
          break;
        }
        case 'duplicate':
          pending.reject(new DuplicateEventIdError(
            `Some event ids of this append were already used in a different append (stream "${pending.stream}")`,
          ));
          break;
        case 'invalid':
          pending.reject(new InvalidEventError(`Event data rejected: ${row.detail ?? ''}`));
          break;
        case 'retry':
          // Raced another batch (two identical retries, or a deadlock): once more, in the next batch.
          if (pending.attempts++ < 3) retries.push(pending);
          else pending.reject(Object.assign(new Error(`Append to "${pending.stream}" kept conflicting with concurrent appends`), { code: '23505', constraint: row.detail }));
          break;
        default: {
          const detail = row.detail ?? '';
          const colon = detail.indexOf(':');
          pending.reject(Object.assign(new Error(detail.slice(colon + 1)), { code: detail.slice(0, colon) }));
        }
      }
    }
    if (rows.length !== batch.length) {
      const answered = new Set(rows.map((r) => r.append_index));
      ordered.forEach((pending, i) => {
        if (!answered.has(i + 1)) pending.reject(new Error('The event store did not answer for this append'));
      });
    }
    if (retries.length > 0) {
      this.queue.unshift(...retries);
      this.scheduleFlush();
    }
    // The batch's transaction notified the other instances (pg_notify in evident_append_batch): one per batch.
    if (appended) this.wake.fire();
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const direction = options.direction ?? 'forwards';
    const maxCount = checkReadCount(options.maxCount, 1_000_000);
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    const start = from === 'start' ? -1n : from === 'end' ? 9223372036854775807n : from;
    const sql = direction === 'forwards'
      ? `SELECT ${COLUMNS} FROM evident_events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision ASC LIMIT $3`
      : `SELECT ${COLUMNS} FROM evident_events WHERE stream_id = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`;
    const { rows } = await orUnavailable(STORE, () => this.pool.query<EventRow>(sql, [stream, start.toString(), maxCount]));
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = checkReadCount(options.maxCount, 1000);
    const params: unknown[] = [(options.after ?? 0n).toString(), maxCount];
    const where = ['global_position > $1', FINISHED, ...filterConditions(options.filter, params)];
    const { rows } = await orUnavailable(STORE, () => this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM evident_events WHERE ${where.join(' AND ')} ORDER BY global_position LIMIT $2`,
      params,
    ));
    return rows.map(toRecordedEvent);
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    return pollingSubscription((o) => this.readAll(o), this.wake, options, this.options.idlePollMs ?? 500, undefined, (after) => this.committedAhead(after, options.filter));
  }

  /**
   * Whether committed rows after `after` (matching `filter`) exist, readable or not: after a read
   * came back short, they are rows it did not return, because an older transaction anywhere in the
   * database was still open then (it may have ended since, without waking anyone).
   */
  private async committedAhead(after: bigint, filter: SubscribeOptions['filter']): Promise<boolean> {
    const params: unknown[] = [after.toString()];
    const where = ['global_position > $1', ...filterConditions(filter, params)];
    const { rows } = await orUnavailable(STORE, () => this.pool.query<{ ahead: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM evident_events WHERE ${where.join(' AND ')}) AS ahead`, params,
    ));
    return rows[0]!.ahead;
  }

  async headPosition(): Promise<bigint> {
    const { rows } = await orUnavailable(STORE, () => this.pool.query<{ head: string }>(
      `SELECT COALESCE(MAX(global_position), 0) AS head FROM evident_events WHERE ${FINISHED}`,
    ));
    return BigInt(rows[0]!.head);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends already accepted are sent and answered before the pool ends.
    if (this.inFlight > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.wake.fire();
    clearTimeout(this.listenTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end();
  }
}
