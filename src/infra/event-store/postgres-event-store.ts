import { readFileSync } from 'node:fs';
import pg from 'pg';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from './errors.ts';
import { connectionConfig, createPool } from '../postgres-pool.ts';
import { orUnavailable, toStoreError } from '../store-unavailable.ts';
import { Wakeup } from '../wakeup.ts';
import { pollingSubscription } from './polling-subscription.ts';
import type {
  AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent,
  SubscribeOptions, Subscription,
} from './port.ts';
import { likePrefix, toRecordedEvent, type EventRow } from './row-mapping.ts';
import { checkReadCount, validateAppend } from './validate-append.ts';

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
}

/**
 * PostgreSQL adapter. Appends run as one call of `evident_append` (one round trip, one transaction).
 * Live subscribers are woken by LISTEN/NOTIFY, coalesced so that a burst of appends sends one
 * notification; a slow poll covers a lost connection, which is reconnected with back-off. A query
 * that cannot reach the server rejects with StoreUnavailableError.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly wake = new Wakeup();
  private listener: pg.Client | undefined;
  private listenRetryMs = LISTEN_RETRY_MS;
  private listenTimer: NodeJS.Timeout | undefined;
  private notifyScheduled = false;
  private closed = false;
  private readonly options: PostgresEventStoreOptions;

  private constructor(options: PostgresEventStoreOptions) {
    this.options = options;
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

  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    if (this.closed) throw new Error('Event store is closed');
    const expected = options.expectedRevision ?? 'any';
    const serialized = validateAppend(stream, events, expected);
    const params = [
      stream,
      String(expected),
      serialized.map((e) => e.id),
      serialized.map((e) => e.type),
      serialized.map((e) => e.schemaVersion),
      serialized.map((e) => e.data),
      serialized.map((e) => e.metadata),
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await this.pool.query<{ next_revision: string; last_position: string; replayed: boolean }>(
          'SELECT next_revision, last_position, replayed FROM evident_append($1, $2, $3::uuid[], $4, $5::int[], $6, $7)',
          params,
        );
        const row = rows[0]!;
        if (!row.replayed) this.scheduleNotify();
        return { nextRevision: BigInt(row.next_revision), position: BigInt(row.last_position) };
      } catch (error) {
        const pgError = error as { code?: string; detail?: string; constraint?: string };
        if (pgError.code === 'EV001') {
          const actual = BigInt(pgError.detail ?? '-1');
          throw new WrongExpectedRevisionError(stream, expected, actual < 0n ? 'no_stream' : actual);
        }
        if (pgError.code === 'EV002') {
          throw new DuplicateEventIdError(`Some event ids of this append were already used in a different append (stream "${stream}")`);
        }
        // Two identical retries raced past the idempotency check: run again to get the original result.
        if (pgError.code === '23505' && pgError.constraint === 'evident_events_event_id_key' && attempt < 3) continue;
        // A concurrent first append to the same stream under 'no_stream'/exact revisions.
        if (pgError.code === '23505' && pgError.constraint === 'evident_events_stream_id_revision_key' && attempt < 3) continue;
        if (pgError.code === '22P02' || pgError.code === '22P05') throw new InvalidEventError(`Event data rejected: ${(error as Error).message}`);
        throw toStoreError(STORE, error);
      }
    }
  }

  /** NOTIFY takes a database-wide lock at commit; one per burst of appends keeps writers from queueing on it. */
  private scheduleNotify(): void {
    this.wake.fire();
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      if (this.closed) return;
      this.pool.query(`NOTIFY ${CHANNEL}`).catch(() => { /* subscribers still poll */ });
    });
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
    const where = ['global_position > $1', FINISHED];
    const types = options.filter?.eventTypes;
    if (types && types.length > 0) {
      params.push(types);
      where.push(`type = ANY($${params.length})`);
    }
    if (options.filter?.streamPrefix) {
      params.push(likePrefix(options.filter.streamPrefix));
      where.push(`stream_id LIKE $${params.length} ESCAPE '\\'`);
    }
    const { rows } = await orUnavailable(STORE, () => this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM evident_events WHERE ${where.join(' AND ')} ORDER BY global_position LIMIT $2`,
      params,
    ));
    return rows.map(toRecordedEvent);
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    return pollingSubscription((o) => this.readAll(o), this.wake, options, 500);
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
    this.wake.fire();
    clearTimeout(this.listenTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
    await this.pool.end();
  }
}
