import type { Logger } from 'pino';
import { loadAggregate } from '../commands/execute-command.ts';
import { parkingDecider, parkingStream } from '../domain/projection/parking.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { ProjectionCheckpoints, type CheckpointRow } from './processor/checkpoints.ts';
import { ProjectionWorker, type ProjectionState } from './projection-worker.ts';
import type { Projection } from './projection.ts';
import { rebuildSchemaName } from './rebuild.ts';

export { CheckpointConflictError } from './processor/checkpoints.ts';
export { ProjectionHandlerError, type ProjectionState } from './projection-worker.ts';
export { quoteIdent, rebuildSchemaName } from './rebuild.ts';

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
  /** Event types this projection applies (a mutation only waits for the projections of its events). */
  eventTypes: readonly string[];
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
  /** First pause after an infrastructure error (read db or event store unavailable); doubles while errors go on (default 1000 ms). */
  errorBackoffMs?: number;
  /** stop() waits this long for in-flight batches before releasing the leases anyway (default 10 s). */
  stopTimeoutMs?: number;
}

export interface WaitForOptions {
  /** Projection names; default all of this runner's projections (narrowed by eventTypes). */
  projections?: string[];
  /** Only the projections that apply at least one of these event types. */
  eventTypes?: readonly string[];
  timeoutMs?: number;
}

export type WaitOutcome = 'reached' | 'timeout' | 'failed';

/**
 * Runs projections against the read database (ARCHITECTURE.md §4), each on the shared processor
 * core: one lease per projection so a single instance runs it at a time, batches applied with their
 * checkpoint in one transaction, a poison event stops only its projection (an operator may park it),
 * rebuilds go into fresh tables swapped in atomically.
 */
export class ProjectionRunner {
  private readonly store: EventStore;
  private readonly logger: Logger;
  private readonly idlePollMs: number;
  private readonly stopTimeoutMs: number;
  private readonly checkpoints: ProjectionCheckpoints;
  private readonly workers = new Map<string, ProjectionWorker>();
  private readonly advanced = new Wakeup();
  private started = false;
  private stopped: Promise<void> | undefined;

  constructor(options: ProjectionRunnerOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.idlePollMs = options.idlePollMs ?? 100;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.checkpoints = new ProjectionCheckpoints(options.db);
    const batchSize = options.batchSize ?? 200;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error('batchSize must be a positive integer');
    const ctx = {
      store: options.store,
      db: options.db,
      checkpoints: this.checkpoints,
      logger: options.logger,
      batchSize,
      leaseRetryMs: options.leaseRetryMs ?? 1000,
      errorBackoffMs: options.errorBackoffMs ?? 1000,
      parkedEventIds: async (projection: string) =>
        (await loadAggregate(options.store, parkingDecider, parkingStream(projection))).state.parked,
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
    for (const [name, worker] of this.workers) await this.checkpoints.ensure(name, worker.projection.version ?? 1);
    for (const worker of this.workers.values()) worker.start();
  }

  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    const results = await Promise.all([...this.workers.values()].map((w) => w.stop(this.stopTimeoutMs)));
    if (results.includes(false)) this.logger.warn('projection loops did not finish in time; their leases were released anyway');
    this.advanced.fire();
  }

  async status(): Promise<ProjectionStatus[]> {
    const workers = [...this.workers.values()];
    const rows = await this.checkpoints.read(workers.map((w) => w.name));
    const head = await this.store.headPosition();
    return Promise.all(workers.map(async (worker): Promise<ProjectionStatus> => {
      const row = rows.get(worker.name);
      const position = worker.active ? worker.position : row ? BigInt(row.position) : 0n;
      let lagEvents = head > position ? Number(head - position) : 0;
      let lagSeconds = 0;
      if (lagEvents > 0) {
        const [next] = await this.store.readAll({ after: position, maxCount: 1 }).catch(() => []);
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
        eventTypes: worker.projection.eventTypes,
      };
    }));
  }

  /**
   * Read-your-writes: true once every named projection's checkpoint is at or past `position`, false
   * after the timeout (default 5000 ms) — or at once when one of them is stopped at a poison event,
   * since waiting would not help. Projections run here are checked in memory and wake this call as
   * soon as they commit; projections run by another instance are polled in the database.
   */
  async waitFor(position: bigint, options: WaitForOptions = {}): Promise<boolean> {
    return (await this.waitForOutcome(position, options)) === 'reached';
  }

  private async waitForOutcome(position: bigint, options: WaitForOptions = {}): Promise<WaitOutcome> {
    const names = this.relevant(options);
    const deadline = Date.now() + (options.timeoutMs ?? 5000);
    for (;;) {
      const remaining = deadline - Date.now();
      const wake = this.advanced.wait(Math.min(this.idlePollMs, Math.max(0, remaining)));
      try {
        const outcome = await this.reached(names, position);
        if (outcome !== 'timeout') return outcome;
        if (remaining <= 0) return 'timeout';
        await wake.promise;
      } finally {
        wake.cancel();
      }
    }
  }

  private relevant(options: WaitForOptions): string[] {
    const names = options.projections ?? [...this.workers.keys()];
    for (const name of names) {
      if (!this.workers.has(name)) throw new Error(`Unknown projection "${name}"`);
    }
    const types = options.eventTypes;
    if (!types) return names;
    return names.filter((name) => this.workers.get(name)!.projection.eventTypes.some((type) => types.includes(type)));
  }

  private async reached(names: readonly string[], position: bigint): Promise<WaitOutcome> {
    let failed = false;
    const elsewhere = names.filter((name) => {
      const worker = this.workers.get(name)!;
      if (worker.active && worker.state === 'failed' && worker.position < position) failed = true;
      return !(worker.active && worker.position >= position);
    });
    if (elsewhere.length === 0) return 'reached';
    if (failed) return 'failed';
    // A projection active here is authoritative in memory: no need to ask the database.
    if (elsewhere.every((name) => this.workers.get(name)!.active)) return 'timeout';
    let rows: Map<string, CheckpointRow>;
    try {
      rows = await this.checkpoints.read(elsewhere);
    } catch (err) {
      this.logger.warn({ err }, 'waitFor could not read projection checkpoints');
      return 'timeout';
    }
    let all = true;
    for (const name of elsewhere) {
      const row = rows.get(name);
      if (row !== undefined && BigInt(row.position) >= position) continue;
      all = false;
      // Only another instance's recorded failure counts: a failure row of our own is cleared when we (re)load.
      if (row?.failed_event_id && this.workers.get(name)!.heldElsewhere) failed = true;
    }
    return all ? 'reached' : failed ? 'failed' : 'timeout';
  }

  /** True once projection `name` is no longer stopped at `eventId` (it went past it, here or elsewhere), false after the timeout. */
  async waitUntilPast(name: string, eventId: string, timeoutMs = 5000): Promise<boolean> {
    this.worker(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const wake = this.advanced.wait(Math.min(this.idlePollMs, Math.max(0, remaining)));
      try {
        const status = (await this.status()).find((s) => s.name === name)!;
        if (status.failedEventId !== eventId) return true;
        if (remaining <= 0) return false;
        await wake.promise;
      } finally {
        wake.cancel();
      }
    }
  }

  async retry(name: string): Promise<void> {
    await this.worker(name).retry();
  }

  /** Tells the local worker to look at its state again (an operator parked an event). */
  nudge(name: string): void {
    this.worker(name).nudge();
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
}
