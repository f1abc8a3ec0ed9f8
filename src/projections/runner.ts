import type { Logger } from 'pino';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { TransactionAbortedError } from '../infra/read-db/errors.ts';
import type { Lease, ReadDb, SqlExecutor } from '../infra/read-db/port.ts';
import type { Projection } from './projection.ts';
import { Wakeup } from '../infra/wakeup.ts';

export type ProjectionState = 'running' | 'standby' | 'failed' | 'rebuilding' | 'stopped';

export interface ProjectionStatus {
  name: string;
  /** This instance's view: 'standby' means another instance holds the projection's lease. */
  state: ProjectionState;
  /** The checkpoint: every event up to this position is in the read model. */
  position: bigint;
  /**
   * Head position minus checkpoint: exact when positions have no gaps (SQLite), otherwise an upper
   * bound (PostgreSQL sequences can skip numbers). 0 when no event after the checkpoint is visible.
   */
  lagEvents: number;
  /** 0 when caught up, else now minus occurredAt of the first unprocessed event. */
  lagSeconds: number;
  lastError: string | null;
  failedEventId: string | null;
  failedPosition: bigint | null;
}

export interface ProjectionRunnerOptions {
  store: EventStore;
  db: ReadDb;
  projections: Projection[];
  logger: Logger;
  /** Events per read-db transaction (default 200). */
  batchSize?: number;
  /** How often waitFor polls checkpoints written by other instances (default 100 ms). */
  idlePollMs?: number;
  /** How often a standby instance tries to take a projection's lease (default 1000 ms). */
  leaseRetryMs?: number;
  /** Pause after an infrastructure error (read db or event store unavailable) before retrying (default 1000 ms). */
  errorBackoffMs?: number;
  /** stop() waits this long for in-flight batches before releasing the leases anyway (default 10 s). */
  stopTimeoutMs?: number;
}

export interface WaitForOptions {
  /** Projection names; default all of this runner's projections. */
  projections?: string[];
  timeoutMs?: number;
}

/** The checkpoint row moved under us: another instance ran this projection (our lease was lost). */
export class CheckpointConflictError extends Error {
  constructor(projection: string, expected: bigint, actual: bigint | undefined) {
    super(`Checkpoint of projection "${projection}" is at ${String(actual)}, expected ${expected}: another instance ran it`);
    this.name = 'CheckpointConflictError';
  }
}

/** A projection handler threw on an event. */
export class ProjectionHandlerError extends Error {
  readonly event: RecordedEvent;
  constructor(projection: string, event: RecordedEvent, cause: unknown) {
    super(`Projection "${projection}" failed on event ${event.id} (${event.type}) at position ${event.position}: ${messageOf(cause)}`, { cause });
    this.name = 'ProjectionHandlerError';
    this.event = event;
  }
}

interface CheckpointRow {
  name: string;
  position: string;
  last_error: string | null;
  failed_position: string | null;
  failed_event_id: string | null;
}

const IDLE_CHECK_MS = 1000;
const CLOSE_TIMEOUT_MS = 5000;
const TICK = Symbol('tick');

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The schema a rebuild of `projection` writes into. */
export function rebuildSchemaName(projection: string): string {
  return `rebuild_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

function nextTurn(): Promise<typeof TICK> {
  return new Promise((resolve) => setImmediate(() => resolve(TICK)));
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function lostSignal(lease: Lease): AbortSignal | undefined {
  const lost = (lease as { lost?: unknown }).lost;
  return lost instanceof AbortSignal ? lost : undefined;
}

interface RunnerContext {
  store: EventStore;
  db: ReadDb;
  logger: Logger;
  batchSize: number;
  leaseRetryMs: number;
  errorBackoffMs: number;
  /** Called after every committed checkpoint, to release local waitFor calls. */
  advanced(): void;
}

const CLEAR_FAILURE = 'last_error = NULL, failed_position = NULL, failed_event_id = NULL';

/** One projection's loop: lease, catch-up and live batches, failure, rebuild. */
class ProjectionWorker {
  readonly projection: Projection;
  readonly name: string;
  state: ProjectionState = 'stopped';
  position = 0n;
  lastError: string | null = null;
  failedEventId: string | null = null;
  failedPosition: bigint | null = null;
  private readonly ctx: RunnerContext;
  private readonly types: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly wake = new Wakeup();
  private lease: Lease | null = null;
  private leaseLost = false;
  private stopping = false;
  private paused = false;
  private onParked: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private rebuilding: Promise<void> | undefined;

  constructor(projection: Projection, ctx: RunnerContext) {
    this.projection = projection;
    this.name = projection.name;
    this.ctx = ctx;
    this.types = new Set(projection.eventTypes);
    this.log = ctx.logger.child({ projection: projection.name });
  }

  /** True while this instance holds the lease: its in-memory position is then the checkpoint. */
  get active(): boolean {
    return this.lease !== null && !this.leaseLost;
  }

  start(): void {
    this.state = 'standby';
    this.loopDone = this.loop();
  }

  requestStop(): void {
    this.stopping = true;
    this.wake.fire();
  }

  /** Resolves when the loop and any rebuild have ended. */
  async finished(): Promise<void> {
    await this.loopDone;
    await this.rebuilding?.catch(() => {});
  }

  async releaseLease(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    this.leaseLost = false;
    this.state = this.stopping ? 'stopped' : 'standby';
    if (lease) await lease.release().catch((err: unknown) => this.log.warn({ err }, 'releasing the lease failed'));
  }

  private shouldRun(): boolean {
    return !this.stopping && !this.paused && this.active && this.state === 'running';
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.paused) {
          const parked = this.onParked;
          this.onParked = undefined;
          parked?.();
          await this.wake.sleep(IDLE_CHECK_MS);
          continue;
        }
        if (this.lease && this.leaseLost) {
          this.log.warn('lease lost; standing by');
          await this.releaseLease();
          await this.wake.sleep(this.ctx.leaseRetryMs); // give a healthier instance the first chance
          continue;
        }
        if (!this.lease) {
          if (!(await this.acquire())) await this.wake.sleep(this.ctx.leaseRetryMs);
          continue;
        }
        if (this.state === 'failed') {
          await this.wake.sleep(IDLE_CHECK_MS);
          continue;
        }
        await this.runLive();
      } catch (err) {
        if (err instanceof CheckpointConflictError) {
          this.log.warn({ err }, 'checkpoint moved by another instance; standing by');
          await this.releaseLease();
          await this.wake.sleep(this.ctx.leaseRetryMs);
          continue;
        }
        this.log.error({ err }, 'projection loop error; retrying from the checkpoint');
        await this.wake.sleep(this.ctx.errorBackoffMs);
      }
    }
    const parked = this.onParked;
    this.onParked = undefined;
    parked?.();
  }

  private async acquire(): Promise<boolean> {
    this.state = 'standby';
    const lease = await this.ctx.db.tryLease(`projection:${this.name}`);
    if (!lease) return false;
    if (this.stopping) {
      await lease.release();
      return false;
    }
    this.lease = lease;
    this.leaseLost = false;
    const lost = lostSignal(lease);
    if (lost) {
      const onLost = () => {
        if (this.lease === lease) {
          this.leaseLost = true;
          this.wake.fire();
        }
      };
      if (lost.aborted) onLost();
      else lost.addEventListener('abort', onLost, { once: true });
    }
    try {
      await this.load();
    } catch (error) {
      await this.releaseLease();
      throw error;
    }
    return true;
  }

  /** Reads the checkpoint after taking the lease; a recorded failure is cleared so the poison event is retried. */
  private async load(): Promise<void> {
    const { db } = this.ctx;
    await db.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [this.name]);
    const { rows } = await db.query<CheckpointRow>(
      'SELECT name, position, last_error, failed_position, failed_event_id FROM projection_checkpoints WHERE name = $1',
      [this.name],
    );
    const row = rows[0]!;
    if (row.last_error !== null || row.failed_position !== null) {
      this.log.warn({ lastError: row.last_error, failedPosition: row.failed_position, failedEventId: row.failed_event_id },
        'resuming a projection that had failed; retrying from its checkpoint');
      await db.query(`UPDATE projection_checkpoints SET ${CLEAR_FAILURE}, updated_at = now() WHERE name = $1`, [this.name]);
    }
    this.position = BigInt(row.position);
    this.clearFailure();
    this.state = 'running';
    this.log.info({ position: this.position.toString() }, 'projection running');
    this.ctx.advanced();
  }

  private clearFailure(): void {
    this.lastError = null;
    this.failedEventId = null;
    this.failedPosition = null;
  }

  /** Reads $all from the checkpoint and applies it in batches until told to stop, pause or fail. */
  private async runLive(): Promise<void> {
    const { store, batchSize } = this.ctx;
    const subscription = store.subscribeToAll({ after: this.position, batchSize });
    const iterator = subscription[Symbol.asyncIterator]();
    const pull = () => {
      const next = iterator.next();
      next.catch(() => { /* observed where it is awaited */ });
      return next;
    };
    let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
    try {
      while (this.shouldRun()) {
        pending ??= pull();
        const idle = this.wake.wait(IDLE_CHECK_MS);
        const first = await Promise.race([pending, idle.promise.then((): typeof TICK => TICK)]);
        idle.cancel();
        if (first === TICK) continue;
        pending = undefined;
        if (first.done) {
          // Subscriptions only end when closed; do not spin if the store ended it under us.
          await this.wake.sleep(this.ctx.errorBackoffMs);
          return;
        }
        const batch = [first.value];
        // Take what the subscription already has, without waiting for new appends.
        while (batch.length < batchSize) {
          const next = pull();
          const result = await Promise.race([next, nextTurn()]);
          if (result === TICK) {
            pending = next;
            break;
          }
          if (result.done) break;
          batch.push(result.value);
        }
        if (!this.shouldRun()) return;
        await this.applyBatch(batch);
      }
    } finally {
      const closed = await withTimeout(subscription.close(), CLOSE_TIMEOUT_MS);
      if (!closed) this.log.warn('event subscription did not close in time');
    }
  }

  /**
   * One transaction for the whole batch. When a handler fails, the batch is rolled back and applied
   * again event by event, so that everything before the poison event is committed; the projection
   * then stops at the poison event.
   */
  private async applyBatch(batch: RecordedEvent[]): Promise<void> {
    try {
      await this.commit(batch);
      return;
    } catch (error) {
      if (!isHandlerFailure(error)) throw error;
    }
    for (const event of batch) {
      if (!this.shouldRun()) return;
      try {
        await this.commit([event]);
      } catch (error) {
        if (!isHandlerFailure(error)) throw error;
        await this.fail(event, error instanceof ProjectionHandlerError ? error.cause : error);
        return;
      }
    }
  }

  private async commit(events: readonly RecordedEvent[]): Promise<void> {
    const last = events.at(-1)!.position;
    await this.ctx.db.transaction(async (tx) => {
      await this.lockCheckpoint(tx, this.position);
      for (const event of events) {
        if (!this.types.has(event.type)) continue;
        await this.handle(event, tx);
      }
      await tx.query(
        `UPDATE projection_checkpoints SET position = $2, updated_at = now(), ${CLEAR_FAILURE} WHERE name = $1`,
        [this.name, last.toString()],
      );
    });
    this.position = last;
    this.ctx.advanced();
  }

  private async handle(event: RecordedEvent, tx: SqlExecutor): Promise<void> {
    try {
      await this.projection.handle(event, tx);
    } catch (error) {
      throw new ProjectionHandlerError(this.name, event, error);
    }
  }

  /** Locks the checkpoint row for the transaction and checks nobody else moved it. */
  private async lockCheckpoint(tx: SqlExecutor, expected: bigint): Promise<void> {
    const { rows } = await tx.query<{ position: string }>(
      'SELECT position FROM projection_checkpoints WHERE name = $1 FOR UPDATE', [this.name],
    );
    const actual = rows[0] ? BigInt(rows[0].position) : undefined;
    if (actual !== expected) throw new CheckpointConflictError(this.name, expected, actual);
  }

  private async fail(event: RecordedEvent, cause: unknown): Promise<void> {
    this.state = 'failed';
    this.lastError = messageOf(cause);
    this.failedEventId = event.id;
    this.failedPosition = event.position;
    this.log.error({ err: cause, eventId: event.id, eventType: event.type, position: event.position.toString() },
      'projection stopped at a poison event');
    try {
      await this.ctx.db.query(
        'UPDATE projection_checkpoints SET last_error = $2, failed_position = $3, failed_event_id = $4, updated_at = now() WHERE name = $1',
        [this.name, this.lastError, event.position.toString(), event.id],
      );
    } catch (err) {
      this.log.warn({ err }, 'could not record the projection failure');
    }
  }

  async retry(): Promise<void> {
    if (this.state === 'running' || this.state === 'rebuilding') return;
    if (this.state !== 'failed') {
      throw new Error(`Projection "${this.name}" is ${this.state} on this instance; retry it on the instance that runs it`);
    }
    await this.ctx.db.query(`UPDATE projection_checkpoints SET ${CLEAR_FAILURE}, updated_at = now() WHERE name = $1`, [this.name]);
    this.clearFailure();
    this.state = 'running';
    this.log.info({ position: this.position.toString() }, 'retrying projection');
    this.wake.fire();
  }

  async rebuild(): Promise<void> {
    if (this.rebuilding) throw new Error(`Projection "${this.name}" is already rebuilding`);
    if (!this.active || (this.state !== 'running' && this.state !== 'failed')) {
      throw new Error(`Projection "${this.name}" is ${this.state} on this instance; rebuild it on the instance that runs it`);
    }
    const rebuilding = this.pauseAndRebuild();
    this.rebuilding = rebuilding;
    try {
      await rebuilding;
    } finally {
      this.rebuilding = undefined;
    }
  }

  private async pauseAndRebuild(): Promise<void> {
    const previous = this.state;
    this.paused = true;
    try {
      // Wait until the live loop has finished its batch and parked.
      await new Promise<void>((resolve) => {
        this.onParked = resolve;
        this.wake.fire();
      });
      if (this.stopping) throw new Error(`Runner stopped; rebuild of "${this.name}" abandoned`);
      if (!this.active) throw new Error(`Lease of "${this.name}" lost; rebuild abandoned`);
      this.state = 'rebuilding';
      this.log.info('rebuilding projection');
      const position = await this.rebuildTables();
      this.position = position;
      this.clearFailure();
      this.state = 'running';
      this.log.info({ position: position.toString() }, 'projection rebuilt and swapped in');
      this.ctx.advanced();
    } catch (err) {
      if (this.state === 'rebuilding') this.state = previous;
      this.log.error({ err }, 'projection rebuild failed; the previous read model is unchanged');
      throw err;
    } finally {
      this.paused = false;
      this.wake.fire();
    }
  }

  /**
   * Replays the log into copies of the projection's tables in schema rebuild_<name> (handlers write
   * unqualified names, redirected by search_path), then swaps them in with the checkpoint in one
   * transaction. Readers of the public tables see the old model until that commit.
   */
  private async rebuildTables(): Promise<bigint> {
    const { db, store, batchSize } = this.ctx;
    const schema = quoteIdent(rebuildSchemaName(this.name));
    const tables = this.projection.tables.map(quoteIdent);
    const eventTypes = [...this.types];
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await db.transaction(async (tx) => {
      await tx.exec(`CREATE SCHEMA ${schema}`);
      for (const table of tables) await tx.exec(`CREATE TABLE ${schema}.${table} (LIKE public.${table} INCLUDING ALL)`);
    });
    try {
      let position = 0n;
      for (;;) {
        if (this.stopping) throw new Error(`Runner stopped; rebuild of "${this.name}" abandoned`);
        // Any matching event at or below `head` is visible to the read that follows.
        const head = await store.headPosition();
        const events = eventTypes.length === 0
          ? []
          : await store.readAll({ after: position, maxCount: batchSize, filter: { eventTypes } });
        if (events.length === 0) {
          if (head > position) position = head;
          break;
        }
        await db.transaction(async (tx) => {
          await tx.exec(`SET LOCAL search_path TO ${schema}, public`);
          for (const event of events) await this.handle(event, tx);
        });
        position = events.at(-1)!.position;
      }
      if (this.stopping) throw new Error(`Runner stopped; rebuild of "${this.name}" abandoned`);
      if (!this.active) throw new Error(`Lease of "${this.name}" lost; rebuild abandoned`);
      await db.transaction(async (tx) => {
        await this.lockCheckpoint(tx, this.position);
        await this.swap(tx, schema);
        await tx.query(
          `UPDATE projection_checkpoints SET position = $2, updated_at = now(), ${CLEAR_FAILURE} WHERE name = $1`,
          [this.name, position.toString()],
        );
      });
      return position;
    } catch (error) {
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        .catch((err: unknown) => this.log.warn({ err }, 'could not drop the rebuild schema'));
      throw error;
    }
  }

  /** Replaces the public tables with the rebuilt ones, keeping the original index names. */
  private async swap(tx: SqlExecutor, schema: string): Promise<void> {
    const schemaName = rebuildSchemaName(this.name);
    const tableNames = [...this.projection.tables];
    if (tableNames.length === 0) {
      await tx.exec(`DROP SCHEMA ${schema}`);
      return;
    }
    const indexes = async (inSchema: string) => (await tx.query<{ indexname: string; indexdef: string }>(
      'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2::text[]) ORDER BY indexname',
      [inSchema, tableNames],
    )).rows;
    const before = await indexes('public');
    const rebuilt = await indexes(schemaName);
    const tables = tableNames.map(quoteIdent);
    await tx.exec(`DROP TABLE ${tables.map((t) => `public.${t}`).join(', ')}`);
    for (const table of tables) await tx.exec(`ALTER TABLE ${schema}.${table} SET SCHEMA public`);
    await tx.exec(`DROP SCHEMA ${schema}`);
    // LIKE ... INCLUDING ALL names the copied indexes itself; give them back the names migrations used.
    const renames: Array<[string, string]> = [];
    const unused = [...before];
    for (const index of rebuilt) {
      const key = indexKey(index.indexdef);
      const match = unused.findIndex((old) => indexKey(old.indexdef) === key);
      if (match < 0) continue;
      const [old] = unused.splice(match, 1);
      if (old!.indexname !== index.indexname) renames.push([index.indexname, old!.indexname]);
    }
    for (const [i, [from]] of renames.entries()) {
      await tx.exec(`ALTER INDEX public.${quoteIdent(from)} RENAME TO ${quoteIdent(`evident_rebuild_tmp_${i}`)}`);
    }
    for (const [i, [, to]] of renames.entries()) {
      await tx.exec(`ALTER INDEX public.${quoteIdent(`evident_rebuild_tmp_${i}`)} RENAME TO ${quoteIdent(to)}`);
    }
  }
}

/** An index definition without its own name and its table's schema, to pair copies with originals. */
function indexKey(indexdef: string): string {
  const match = /^CREATE (UNIQUE )?INDEX (?:"(?:[^"]|"")+"|\S+) ON (ONLY )?(?:(?:"(?:[^"]|"")+"|[^\s.]+)\.)?(.*)$/.exec(indexdef);
  return match ? `${match[1] ?? ''}${match[2] ?? ''}${match[3]}` : indexdef;
}

function isHandlerFailure(error: unknown): boolean {
  return error instanceof ProjectionHandlerError || error instanceof TransactionAbortedError;
}

/**
 * Runs projections against the read database (ARCHITECTURE.md §4): one lease per projection so a
 * single instance runs it at a time, batches applied with their checkpoint in one transaction,
 * a poison event stops only its projection, rebuilds go into fresh tables swapped in atomically.
 */
export class ProjectionRunner {
  private readonly store: EventStore;
  private readonly db: ReadDb;
  private readonly logger: Logger;
  private readonly idlePollMs: number;
  private readonly stopTimeoutMs: number;
  private readonly workers = new Map<string, ProjectionWorker>();
  private readonly advanced = new Wakeup();
  private started = false;
  private stopped: Promise<void> | undefined;

  constructor(options: ProjectionRunnerOptions) {
    this.store = options.store;
    this.db = options.db;
    this.logger = options.logger;
    this.idlePollMs = options.idlePollMs ?? 100;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    const batchSize = options.batchSize ?? 200;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
    const ctx: RunnerContext = {
      store: options.store,
      db: options.db,
      logger: options.logger,
      batchSize,
      leaseRetryMs: options.leaseRetryMs ?? 1000,
      errorBackoffMs: options.errorBackoffMs ?? 1000,
      advanced: () => this.advanced.fire(),
    };
    const schemas = new Set<string>();
    for (const projection of options.projections) {
      if (this.workers.has(projection.name)) throw new Error(`Duplicate projection name "${projection.name}"`);
      const schema = rebuildSchemaName(projection.name);
      if (schemas.has(schema)) throw new Error(`Projection names collide after sanitising: "${projection.name}"`);
      schemas.add(schema);
      for (const table of projection.tables) {
        if (table.includes('.')) throw new Error(`Projection "${projection.name}": table "${table}" must be unqualified`);
      }
      this.workers.set(projection.name, new ProjectionWorker(projection, ctx));
    }
  }

  /** Makes sure every projection has a checkpoint row, then starts each projection's loop. */
  async start(): Promise<void> {
    if (this.started) throw new Error('ProjectionRunner already started');
    if (this.stopped) throw new Error('ProjectionRunner was stopped; create a new one');
    this.started = true;
    for (const name of this.workers.keys()) {
      await this.db.query('INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
    }
    for (const worker of this.workers.values()) worker.start();
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    const workers = [...this.workers.values()];
    for (const worker of workers) worker.requestStop();
    const finished = await withTimeout(Promise.all(workers.map((w) => w.finished())), this.stopTimeoutMs);
    if (!finished) this.logger.warn('projection loops did not finish in time; releasing their leases anyway');
    await Promise.all(workers.map((w) => w.releaseLease()));
    this.advanced.fire();
  }

  async status(): Promise<ProjectionStatus[]> {
    const workers = [...this.workers.values()];
    const rows = await this.checkpoints(workers.map((w) => w.name));
    const head = await this.store.headPosition();
    return Promise.all(workers.map(async (worker): Promise<ProjectionStatus> => {
      const row = rows.get(worker.name);
      const position = worker.active ? worker.position : row ? BigInt(row.position) : 0n;
      let lagEvents = head > position ? Number(head - position) : 0;
      let lagSeconds = 0;
      if (lagEvents > 0) {
        const [next] = await this.store.readAll({ after: position, maxCount: 1 });
        if (next) {
          const occurred = Date.parse(next.metadata.occurredAt);
          lagSeconds = Number.isNaN(occurred) ? 0 : Math.max(0, (Date.now() - occurred) / 1000);
        } else {
          lagEvents = 0;
        }
      }
      const local = worker.lastError !== null;
      return {
        name: worker.name,
        state: worker.state,
        position,
        lagEvents,
        lagSeconds,
        lastError: local ? worker.lastError : row?.last_error ?? null,
        failedEventId: local ? worker.failedEventId : row?.failed_event_id ?? null,
        failedPosition: local ? worker.failedPosition : row?.failed_position != null ? BigInt(row.failed_position) : null,
      };
    }));
  }

  /**
   * Read-your-writes: true once every named projection's checkpoint is at or past `position`, false
   * after the timeout (default 5000 ms). Projections run here are checked in memory and wake this
   * call as soon as they commit; projections run by another instance are polled in the database.
   */
  async waitFor(position: bigint, options: WaitForOptions = {}): Promise<boolean> {
    const names = options.projections ?? [...this.workers.keys()];
    for (const name of names) {
      if (!this.workers.has(name)) throw new Error(`Unknown projection "${name}"`);
    }
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      const remaining = deadline - Date.now();
      const wake = this.advanced.wait(Math.min(this.idlePollMs, Math.max(0, remaining)));
      try {
        if (await this.reached(names, position)) return true;
        if (remaining <= 0) return false;
        await wake.promise;
      } finally {
        wake.cancel();
      }
    }
  }

  private async reached(names: readonly string[], position: bigint): Promise<boolean> {
    const elsewhere = names.filter((name) => {
      const worker = this.workers.get(name)!;
      return !(worker.active && worker.position >= position);
    });
    if (elsewhere.length === 0) return true;
    // A projection active here is authoritative in memory: no need to ask the database.
    if (elsewhere.every((name) => this.workers.get(name)!.active)) return false;
    try {
      const rows = await this.checkpoints(elsewhere);
      return elsewhere.every((name) => {
        const row = rows.get(name);
        return row !== undefined && BigInt(row.position) >= position;
      });
    } catch (err) {
      this.logger.warn({ err }, 'waitFor could not read projection checkpoints');
      return false;
    }
  }

  async retry(name: string): Promise<void> {
    await this.worker(name).retry();
  }

  /** Rebuilds a projection from position zero into fresh tables and swaps them in; resolves when live again. */
  async rebuild(name: string): Promise<void> {
    await this.worker(name).rebuild();
  }

  private worker(name: string): ProjectionWorker {
    const worker = this.workers.get(name);
    if (!worker) throw new Error(`Unknown projection "${name}"`);
    return worker;
  }

  private async checkpoints(names: readonly string[]): Promise<Map<string, CheckpointRow>> {
    const { rows } = await this.db.query<CheckpointRow>(
      'SELECT name, position, last_error, failed_position, failed_event_id FROM projection_checkpoints WHERE name = ANY($1::text[])',
      [names],
    );
    return new Map(rows.map((row) => [row.name, row]));
  }
}
