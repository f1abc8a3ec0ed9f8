import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { checkExpected, idempotentResult } from './append-rules.ts';
import { Wakeup } from '../wakeup.ts';
import { pollingSubscription } from './polling-subscription.ts';
import type {
  AppendOptions, AppendResult, EventStore, ExpectedRevision, NewEvent, ReadAllOptions, ReadStreamOptions,
  RecordedEvent, SubscribeOptions, Subscription,
} from './port.ts';
import { FullBatchCache } from './full-batch-cache.ts';
import { likePrefix, toRecordedEvent, type EventRow } from './row-mapping.ts';
import { checkReadCount, validateAppend, type SerializedEvent } from './validate-append.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS streams (stream TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
`;

const COLUMNS = 'position, id, stream, revision, type, schema_version, data, metadata';

interface PendingAppend {
  stream: string;
  events: SerializedEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded default: one SQLite file in WAL mode with synchronous=FULL, so a commit is on disk
 * before an append is acknowledged. Appends that arrive in the same turn of the event loop are
 * group-committed: one transaction and one fsync, each append isolated by a savepoint so that one
 * conflict does not fail its neighbours.
 */
export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite';
  private readonly db: DatabaseSync;
  private readonly wake = new Wakeup();
  /** Full pages of readAll, shared by the projections that read them one after another (full-batch-cache.ts). */
  private readonly pages = new FullBatchCache();
  /** SQLite's `data_version` when the pages were last checked: it moves when another connection commits. */
  private pagesDataVersion = -1;
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly statements = new Map<string, StatementSync>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;');
    this.db.exec(SCHEMA);
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
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
    return new Promise((resolve, reject) => {
      this.queue.push({ stream, events: serialized, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const pending of batch) {
          this.db.exec('SAVEPOINT append_one');
          try {
            outcomes.push({ ok: true, result: this.appendOne(pending) });
            this.db.exec('RELEASE append_one');
          } catch (error) {
            this.db.exec('ROLLBACK TO append_one');
            this.db.exec('RELEASE append_one');
            outcomes.push({ ok: false, error });
          }
        }
        this.db.exec('COMMIT');
      } catch (error) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) pending.resolve(outcome.result);
      else pending.reject(outcome.error);
    });
    this.wake.fire();
  }

  private appendOne({ stream, events, expected }: PendingAppend): AppendResult {
    const replay = this.findIdempotentReplay(stream, events);
    if (replay) return replay;
    const row = this.statement('SELECT revision FROM streams WHERE stream = ?').get(stream) as { revision: number } | undefined;
    const current = row === undefined ? undefined : BigInt(row.revision);
    checkExpected(stream, expected, current);
    const insert = this.statement(
      'INSERT INTO events (id, stream, revision, type, schema_version, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    let revision = current ?? -1n;
    let position = 0n;
    for (const event of events) {
      revision += 1n;
      const result = insert.run(event.id, stream, revision, event.type, event.schemaVersion, event.data, event.metadata);
      position = BigInt(result.lastInsertRowid);
    }
    this.statement('INSERT INTO streams (stream, revision) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision')
      .run(stream, revision);
    return { nextRevision: revision, position };
  }

  /** A retried append (same ids, same stream, same order) returns the original result instead of duplicating. */
  private findIdempotentReplay(stream: string, events: SerializedEvent[]): AppendResult | undefined {
    const lookup = this.statement('SELECT stream, revision, position FROM events WHERE id = ?');
    const found = events.map((e) => lookup.get(e.id) as { stream: string; revision: number; position: number } | undefined);
    if (found.every((f) => f === undefined)) return undefined;
    return idempotentResult(stream, found.map((f) => f && { stream: f.stream, revision: BigInt(f.revision), position: BigInt(f.position) }));
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const direction = options.direction ?? 'forwards';
    const maxCount = checkReadCount(options.maxCount, Number.MAX_SAFE_INTEGER);
    const from = options.from ?? (direction === 'forwards' ? 'start' : 'end');
    const start = from === 'start' ? -1n : from === 'end' ? BigInt(Number.MAX_SAFE_INTEGER) : from;
    const sql = direction === 'forwards'
      ? `SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`
      : `SELECT ${COLUMNS} FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`;
    const rows = this.statement(sql).all(stream, start, maxCount) as unknown as EventRow[];
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const maxCount = checkReadCount(options.maxCount, 1000);
    const where = ['position > ?'];
    const params: Array<string | number | bigint> = [options.after ?? 0n];
    const types = options.filter?.eventTypes;
    if (types && types.length > 0) {
      where.push(`type IN (${types.map(() => '?').join(', ')})`);
      params.push(...types);
    }
    if (options.filter?.streamPrefix) {
      where.push(`stream LIKE ? ESCAPE '\\'`);
      params.push(likePrefix(options.filter.streamPrefix));
    }
    // Another connection's commit (another process appending, or someone editing the file under us,
    // which audit verification must see) may have changed what a full page holds: start afresh.
    const { data_version: dataVersion } = this.statement('PRAGMA data_version').get() as { data_version: number };
    if (dataVersion !== this.pagesDataVersion) {
      this.pages.clear();
      this.pagesDataVersion = dataVersion;
    }
    const key = FullBatchCache.key(options, maxCount);
    const cached = this.pages.get(key);
    if (cached) return cached;
    const rows = this.statement(`SELECT ${COLUMNS} FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`)
      .all(...params, maxCount) as unknown as Array<EventRow & { data: string; metadata: string }>;
    const events = rows.map(toRecordedEvent);
    if (events.length === maxCount) this.pages.offer(key, events, maxCount, rows.reduce((sum, row) => sum + row.data.length + row.metadata.length, 0));
    return events.length === maxCount ? [...events] : events;
  }

  subscribeToAll(options: SubscribeOptions = {}): Subscription {
    // Polling also catches appends made by other processes on the same file (the CLI, say).
    return pollingSubscription((o) => this.readAll(o), this.wake, options, 250, () => this.headPosition());
  }

  async headPosition(): Promise<bigint> {
    const row = this.statement('SELECT COALESCE(MAX(position), 0) AS head FROM events').get() as { head: number };
    return BigInt(row.head);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0) this.flush();
    this.wake.fire();
    this.db.close();
  }
}
