import type { Logger } from 'pino';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { EventUpcastError } from '../infra/event-store/upcasting-event-store.ts';
import { TransactionAbortedError } from '../infra/read-db/errors.ts';
import type { ReadDb, SqlExecutor } from '../infra/read-db/port.ts';
import { inSpan, linksFromTraceParents } from '../infra/tracing.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { CheckpointConflictError, type ProjectionCheckpoints } from './processor/checkpoints.ts';
import { LeaseLoop } from './processor/lease-loop.ts';
import type { Projection } from './projection.ts';
import { rebuildTables } from './rebuild.ts';
import { sanitizeEvent } from './sanitize-event.ts';

export type ProjectionState = 'running' | 'standby' | 'failed' | 'rebuilding' | 'stopped';

/** A projection handler threw on an event. */
export class ProjectionHandlerError extends Error {
  readonly event: RecordedEvent;
  constructor(projection: string, event: RecordedEvent, cause: unknown) {
    super(`Projection "${projection}" failed on event ${event.id} (${event.type}) at position ${event.position}: ${messageOf(cause)}`, { cause });
    this.name = 'ProjectionHandlerError';
    this.event = event;
  }
}

export interface WorkerContext {
  store: EventStore;
  db: ReadDb;
  checkpoints: ProjectionCheckpoints;
  logger: Logger;
  batchSize: number;
  leaseRetryMs: number;
  errorBackoffMs: number;
  /** Ids of the events an operator parked for this projection (read from the log). */
  parkedEventIds(projection: string): Promise<ReadonlySet<string>>;
  /** Called after every committed checkpoint and state change, to release waitFor calls. */
  advanced(): void;
}

const IDLE_CHECK_MS = 1000;
/**
 * A batch holding no event this projection applies moves only the position in memory; the checkpoint
 * row follows at the next batch it does apply, once the log has been quiet for IDLE_CHECK_MS, or at
 * the first batch after SKIPPED_CHECKPOINT_MS under constant traffic. Every projection reads every
 * event, so writing the row each time cost one read-database transaction per projection per event: on
 * PGlite, work on the server's own thread in front of every reply (docs/benchmarks.md, "Time to first token").
 */
export const SKIPPED_CHECKPOINT_MS = 10_000;
const CLOSE_TIMEOUT_MS = 5000;
const TICK = Symbol('tick');

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function nextTurn(): Promise<typeof TICK> {
  return new Promise((resolve) => setImmediate(() => resolve(TICK)));
}

/**
 * Lets the I/O and timers that are due run before a transaction: PGlite executes statements
 * synchronously on this thread, and transactions chained on promises alone (one projection after
 * another) would hold up a provider's first chunk or a commit of the log until all were done.
 */
function yieldToIo(): Promise<unknown> {
  return nextTurn();
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

function isHandlerFailure(error: unknown): boolean {
  return error instanceof ProjectionHandlerError || error instanceof TransactionAbortedError;
}

/** One projection on the shared processor core: catch-up and live batches, poison events, parking, rebuild. */
export class ProjectionWorker {
  readonly projection: Projection;
  readonly name: string;
  state: ProjectionState = 'stopped';
  /** Every event up to here is applied (or not this projection's): authoritative while active. */
  position = 0n;
  /** Where the checkpoint row stands: behind `position` by events this projection does not apply, for at most about a second. */
  private stored = 0n;
  /** When `position` first moved ahead of `stored` (0 when they are equal). */
  private skippedSince = 0;
  lastError: string | null = null;
  failedEventId: string | null = null;
  failedPosition: bigint | null = null;
  private readonly ctx: WorkerContext;
  private readonly types: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly wake = new Wakeup();
  private readonly loop: LeaseLoop;
  private loaded = false;
  private parked: ReadonlySet<string> = new Set();
  private paused = false;
  private onParked: (() => void) | undefined;
  private rebuilding: Promise<void> | undefined;

  constructor(projection: Projection, ctx: WorkerContext) {
    this.projection = projection;
    this.name = projection.name;
    this.ctx = ctx;
    this.types = new Set(projection.eventTypes);
    this.log = ctx.logger.child({ projection: projection.name });
    this.loop = new LeaseLoop({
      db: ctx.db,
      leaseName: `projection:${projection.name}`,
      logger: this.log,
      leaseRetryMs: ctx.leaseRetryMs,
      errorBackoffMs: ctx.errorBackoffMs,
      whileLeased: (signal) => this.whileLeased(signal),
      isStandByError: (error) => error instanceof CheckpointConflictError,
    });
  }

  /** True while this instance holds the lease and has loaded the checkpoint: its position is then authoritative. */
  get active(): boolean {
    return this.loaded && this.loop.holding;
  }

  /** True when another instance holds the lease (so its checkpoint row is the truth). */
  get heldElsewhere(): boolean {
    return this.loop.heldElsewhere;
  }

  start(): void {
    this.state = 'standby';
    this.loop.start();
  }

  async stop(timeoutMs: number): Promise<boolean> {
    this.wake.fire();
    const finished = await this.loop.stop(timeoutMs);
    await this.rebuilding?.catch(() => {});
    this.loaded = false;
    this.state = 'stopped';
    this.releaseParkWaiter();
    return finished;
  }

  private shouldRun(signal: AbortSignal): boolean {
    return !signal.aborted && !this.paused && this.state === 'running';
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    try {
      const builtBy = await this.load();
      if (builtBy < this.version && !signal.aborted) await this.rebuildOutdated(builtBy);
      while (!signal.aborted) {
        if (this.paused) {
          this.releaseParkWaiter();
          await this.wake.sleep(IDLE_CHECK_MS, signal);
        } else if (this.state === 'failed') {
          await this.reviveIfParked();
          if (this.state === 'failed') await this.wake.sleep(IDLE_CHECK_MS, signal);
        } else {
          await this.runLive(signal);
        }
      }
      // Stopping with the lease still ours: the row catches up with what was passed over.
      if (this.loop.stopped && this.loop.holding && this.loaded && this.stored !== this.position) {
        await this.storeSkipped().catch((err: unknown) => this.log.warn({ err }, 'could not store the checkpoint at stop'));
      }
    } finally {
      this.loaded = false;
      if (this.state !== 'stopped') this.state = 'standby';
      this.releaseParkWaiter();
      this.ctx.advanced();
    }
  }

  private releaseParkWaiter(): void {
    const parked = this.onParked;
    this.onParked = undefined;
    parked?.();
  }

  /** Projection.version of this code. */
  private get version(): number {
    return this.projection.version ?? 1;
  }

  /**
   * Reads the checkpoint after taking the lease; a recorded failure is cleared so the poison event is
   * retried. Returns the version of the code that built the read model.
   */
  private async load(): Promise<number> {
    const row = await this.ctx.checkpoints.load(this.name, this.version);
    if (row.last_error !== null || row.failed_position !== null) {
      this.log.warn({ lastError: row.last_error, failedPosition: row.failed_position, failedEventId: row.failed_event_id },
        'resuming a projection that had failed; retrying from its checkpoint');
      await this.ctx.checkpoints.clearFailure(this.name);
    }
    this.parked = await this.ctx.parkedEventIds(this.name);
    this.position = BigInt(row.position);
    this.stored = this.position;
    this.skippedSince = 0;
    this.clearFailure();
    this.state = 'running';
    this.loaded = true;
    this.log.info({ position: this.position.toString() }, 'projection running');
    this.ctx.advanced();
    if (row.version > this.version) {
      this.log.warn({ builtBy: row.version, version: this.version }, 'the read model was built by a newer version of this projection; running on it');
    }
    return row.version;
  }

  /**
   * The read model was built by an older version of the projection (what its events give has changed):
   * rebuild it before running on, as an operator's rebuild does. Until the swap the old rows serve.
   * A failed rebuild is logged and the projection runs on with the old model; the next lease tries again.
   */
  private async rebuildOutdated(builtBy: number): Promise<void> {
    this.log.info({ builtBy, version: this.version }, 'the read model was built by an older version of this projection; rebuilding it');
    try {
      await this.rebuildNow();
    } catch (err) {
      if (this.loop.stopped || !this.active) throw err;
      this.log.error({ err }, 'rebuild of an outdated read model failed; running on the old one until the next start');
    }
  }

  private clearFailure(): void {
    this.lastError = null;
    this.failedEventId = null;
    this.failedPosition = null;
  }

  /** Reads $all from the checkpoint and applies it in batches until told to stop, pause or fail. */
  private async runLive(signal: AbortSignal): Promise<void> {
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
      while (this.shouldRun(signal)) {
        pending ??= pull();
        const idle = this.wake.wait(IDLE_CHECK_MS, signal);
        let first: IteratorResult<RecordedEvent> | typeof TICK;
        try {
          first = await Promise.race([pending, idle.promise.then((): typeof TICK => TICK)]);
        } catch (error) {
          await this.unreadable(error);
          return;
        } finally {
          idle.cancel();
        }
        if (first === TICK) {
          // Quiet: the checkpoint row catches up with events passed over without a transaction.
          if (this.stored !== this.position && this.shouldRun(signal)) await this.storeSkipped();
          continue;
        }
        pending = undefined;
        if (first.done) {
          // Subscriptions only end when closed; do not spin if the store ended it under us.
          await this.wake.sleep(this.ctx.errorBackoffMs, signal);
          return;
        }
        const batch = [first.value];
        let broken: unknown;
        // Take what the subscription already has, without waiting for new appends: until the event
        // loop comes round once. One turn for the whole batch, not one per event: each pending
        // setImmediate held its race, and with it an event, until the loop came round.
        const turn = nextTurn();
        while (batch.length < batchSize) {
          const next = pull();
          let result: IteratorResult<RecordedEvent> | typeof TICK;
          try {
            result = await Promise.race([next, turn]);
          } catch (error) {
            broken = error;
            break;
          }
          if (result === TICK) {
            pending = next;
            break;
          }
          if (result.done) break;
          batch.push(result.value);
        }
        if (!this.shouldRun(signal)) return;
        await this.applyBatch(batch, signal);
        if (broken !== undefined) {
          if (this.shouldRun(signal)) await this.unreadable(broken);
          return;
        }
      }
    } finally {
      const closed = await withTimeout(subscription.close(), CLOSE_TIMEOUT_MS);
      if (!closed) this.log.warn('event subscription did not close in time');
    }
  }

  /** The subscription failed: an event that cannot be upcast is a poison event; anything else is the loop's error. */
  private async unreadable(error: unknown): Promise<void> {
    if (!(error instanceof EventUpcastError)) throw error;
    await this.poisoned(error.event, error);
  }

  /**
   * One transaction for the whole batch. When a handler fails, the batch is rolled back and applied
   * again event by event, so that everything before the poison event is committed; the projection
   * then stops at the poison event (or skips it, if an operator parked it).
   */
  private async applyBatch(batch: RecordedEvent[], signal: AbortSignal): Promise<void> {
    try {
      await this.commit(batch);
      return;
    } catch (error) {
      if (!isHandlerFailure(error)) throw error;
    }
    for (const event of batch) {
      if (!this.shouldRun(signal)) return;
      try {
        await this.commit([event]);
      } catch (error) {
        if (!isHandlerFailure(error)) throw error;
        await this.poisoned(event, error instanceof ProjectionHandlerError ? error.cause : error);
        return;
      }
    }
  }

  private async commit(events: readonly RecordedEvent[], skip = false): Promise<void> {
    const handled = skip ? [] : events.filter((event) => this.types.has(event.type));
    if (handled.length === 0 && !skip) return this.passOver(events.at(-1)!.position);
    if (handled.length === 0) return this.commitNow(events, skip);
    // One span per transaction, linked to the operations that appended its events (their traceparent).
    return inSpan(`projection ${this.name}`, {
      'evident.projection': this.name, 'evident.events': handled.length,
      'evident.position.first': events[0]!.position.toString(), 'evident.position.last': events.at(-1)!.position.toString(),
    }, () => this.commitNow(events, skip), linksFromTraceParents(handled.map((event) => event.metadata.traceParent)));
  }

  private async commitNow(events: readonly RecordedEvent[], skip: boolean): Promise<void> {
    const last = events.at(-1)!.position;
    await yieldToIo();
    await this.ctx.db.transaction(async (tx) => {
      await this.ctx.checkpoints.lock(tx, this.name, this.stored);
      if (!skip) await this.applyAll(events, tx);
      await this.ctx.checkpoints.advance(tx, this.name, last);
    });
    this.movedTo(last);
  }

  /**
   * Events of other types only: nothing to write but the checkpoint, which can wait (a crash re-reads
   * them, applying nothing). Waiters here see the position at once; the row catches up within about
   * SKIPPED_CHECKPOINT_MS, in this loop, so never beside a transaction of its own.
   */
  private async passOver(last: bigint): Promise<void> {
    // As before a transaction: a catch-up passing over a long run of events it does not apply reads
    // them from buffers in microtasks alone, and without this would hold the thread (no request
    // served, no timer run) and every event it raced until it reached the end of the log.
    await yieldToIo();
    this.position = last;
    this.ctx.advanced();
    if (this.skippedSince === 0) this.skippedSince = Date.now();
    else if (Date.now() - this.skippedSince >= SKIPPED_CHECKPOINT_MS) await this.storeSkipped();
  }

  private async storeSkipped(): Promise<void> {
    const at = this.position;
    await yieldToIo();
    await this.ctx.db.transaction(async (tx) => {
      await this.ctx.checkpoints.lock(tx, this.name, this.stored);
      await this.ctx.checkpoints.advance(tx, this.name, at);
    });
    this.movedTo(at);
  }

  private movedTo(position: bigint): void {
    this.position = position;
    this.stored = position;
    this.skippedSince = 0;
    this.ctx.advanced();
  }

  /**
   * Applies events in order: through the projection's handleBatch when it has one and there is more
   * than one event to apply (a failure then fails the whole transaction, and applyBatch retries
   * event by event), else one by one.
   */
  private async applyAll(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const wanted = events.filter((event) => this.types.has(event.type) && !this.parked.has(event.id));
    const batch = this.projection.handleBatch;
    if (!batch || wanted.length < 2) {
      for (const event of wanted) await this.apply(event, tx);
      return;
    }
    try {
      await batch.call(this.projection, wanted.map(sanitizeEvent), tx);
    } catch (error) {
      throw new ProjectionHandlerError(this.name, wanted[0]!, error);
    }
  }

  /** Applies one event, unless this projection does not handle its type or an operator parked it. */
  private async apply(event: RecordedEvent, tx: SqlExecutor): Promise<void> {
    if (!this.types.has(event.type) || this.parked.has(event.id)) return;
    try {
      await this.projection.handle(sanitizeEvent(event), tx);
    } catch (error) {
      throw new ProjectionHandlerError(this.name, event, error);
    }
  }

  private async poisoned(event: RecordedEvent, cause: unknown): Promise<void> {
    this.parked = await this.ctx.parkedEventIds(this.name);
    if (this.parked.has(event.id)) {
      await this.commit([event], true);
      this.log.warn({ eventId: event.id, eventType: event.type, position: event.position.toString() }, 'skipped a parked event');
      return;
    }
    const message = messageOf(cause);
    this.log.error({ err: cause, eventId: event.id, eventType: event.type, position: event.position.toString() },
      'projection stopped at a poison event');
    // The row first: whoever sees the status failed finds the failure in the checkpoint row too.
    try {
      await this.ctx.checkpoints.recordFailure(this.name, message, event.position, event.id);
    } catch (err) {
      this.log.warn({ err }, 'could not record the projection failure');
    }
    this.state = 'failed';
    this.lastError = message;
    this.failedEventId = event.id;
    this.failedPosition = event.position;
    this.ctx.advanced();
  }

  /** While failed: once an operator parks the failed event (on any instance), carry on past it. */
  private async reviveIfParked(): Promise<void> {
    try {
      this.parked = await this.ctx.parkedEventIds(this.name);
    } catch (err) {
      this.log.warn({ err }, 'could not read parked events');
      return;
    }
    if (this.failedEventId !== null && this.parked.has(this.failedEventId)) {
      this.log.info({ eventId: this.failedEventId }, 'the failed event was parked; resuming');
      await this.retry();
    }
  }

  async retry(): Promise<void> {
    if (this.state === 'running' || this.state === 'rebuilding') return;
    if (this.state !== 'failed') {
      throw new Error(`Projection "${this.name}" is ${this.state} on this instance; retry it on the instance that runs it`);
    }
    await this.ctx.checkpoints.clearFailure(this.name);
    this.clearFailure();
    this.state = 'running';
    this.log.info({ position: this.position.toString() }, 'retrying projection');
    this.wake.fire();
    this.ctx.advanced();
  }

  /** Makes a waiting loop look at its state again now (after an operator acted). */
  nudge(): void {
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
      await this.rebuildNow();
    } catch (err) {
      if (this.state === 'rebuilding') this.state = previous;
      this.log.error({ err }, 'projection rebuild failed; the previous read model is unchanged');
      throw err;
    } finally {
      this.paused = false;
      this.wake.fire();
    }
  }

  /** Replays the log into fresh tables and swaps them in with the checkpoint and this version. */
  private async rebuildNow(): Promise<void> {
    const previous = this.state;
    this.checkStillWanted();
    this.state = 'rebuilding';
    this.log.info('rebuilding projection');
    this.ctx.advanced();
    try {
      this.parked = await this.ctx.parkedEventIds(this.name);
      const position = await rebuildTables({
        db: this.ctx.db, store: this.ctx.store, projection: this.name, tables: this.projection.tables,
        eventTypes: [...this.types], batchSize: this.ctx.batchSize,
        apply: (event, tx) => this.apply(event, tx),
        applyAll: (events, tx) => this.applyAll(events, tx),
        isParked: (eventId) => this.parked.has(eventId),
        checkStillWanted: () => this.checkStillWanted(),
        beforeSwap: (tx) => this.ctx.checkpoints.lock(tx, this.name, this.stored),
        afterSwap: async (tx, at) => {
          await this.ctx.checkpoints.advance(tx, this.name, at);
          await this.ctx.checkpoints.setVersion(tx, this.name, this.version);
        },
      });
      this.movedTo(position);
      this.clearFailure();
      this.state = 'running';
      this.log.info({ position: position.toString(), version: this.version }, 'projection rebuilt and swapped in');
      this.ctx.advanced();
    } catch (err) {
      if (this.state === 'rebuilding') this.state = previous;
      throw err;
    }
  }

  private checkStillWanted(): void {
    if (this.loop.stopped) throw new Error(`Runner stopped; rebuild of "${this.name}" abandoned`);
    if (!this.active) throw new Error(`Lease of "${this.name}" lost; rebuild abandoned`);
  }
}
