import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { ReactorCheckpoints } from './processor/checkpoints.ts';
import { LeaseLoop } from './processor/lease-loop.ts';

const NAME = 'erasure-scrub';
export const ERASURE_EVENT = 'UserDataErased';
/** How long one wait for the projections lasts before the loop checks whether it should stop. */
const PROJECTION_WAIT_MS = 1_000;

export interface ErasureScrubberOptions {
  store: EventStore;
  readDb: ReadDb;
  /** The read-model tables erasures delete rows from. */
  tables: readonly string[];
  /** Tables known only at run time (a vector index's table per embedding model). */
  moreTables?(): Promise<readonly string[]>;
  /** The events that call for a scrub (default: erasures only; the app adds the retention expiries). */
  eventTypes?: readonly string[];
  /**
   * Runs once the projections have applied the events and before the scrub: for expiries, shredding the
   * item keys and deleting blobs. Must be safe to repeat (a crash before the checkpoint runs it again).
   */
  beforeScrub?(events: readonly RecordedEvent[]): Promise<void>;
  /** Then scrubs the key store (its deleted keys), if it needs it. */
  scrubKeys?(): Promise<void>;
  /** True once every read model has applied the log up to `position`, false after `timeoutMs`. */
  projectionsReached(position: bigint, timeoutMs: number): Promise<boolean>;
  logger: Logger;
  /** How often the log is checked for erasures recorded elsewhere (default 1000 ms). */
  pollMs?: number;
  /** How often a standby instance tries to take the lease (default 1000 ms). */
  leaseRetryMs?: number;
  /** First pause after a failed scrub before it is tried again, doubling after each further failure (default 1000 ms). */
  errorBackoffMs?: number;
}

/**
 * Erasure's last step (docs/operations.md): once the projections have deleted an erased person's rows,
 * `ReadDb.scrub` removes what the database files still hold of them. A reactor on the log, with its
 * checkpoint in `reactor_checkpoints`: whichever instance holds the lease scrubs, erasures made by
 * any instance are seen, and one that a crash left unscrubbed is scrubbed on the next start.
 */
export class ErasureScrubber {
  private readonly options: ErasureScrubberOptions;
  private readonly checkpoints: ReactorCheckpoints;
  private readonly loop: LeaseLoop;
  private readonly wakeup = new Wakeup();
  private readonly scrubbedLocally = new Wakeup();
  private scrubbedPosition = 0n;
  private stopped = false;

  constructor(options: ErasureScrubberOptions) {
    this.options = options;
    this.checkpoints = new ReactorCheckpoints(options.readDb);
    this.loop = new LeaseLoop({
      db: options.readDb, leaseName: `reactor:${NAME}`, logger: options.logger,
      leaseRetryMs: options.leaseRetryMs ?? 1_000, errorBackoffMs: options.errorBackoffMs ?? 1_000,
      whileLeased: (signal) => this.whileLeased(signal),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.scrubbedLocally.fire();
    await this.loop.stop();
  }

  /** An erasure was just recorded: look at once rather than at the next poll. */
  notify(): void {
    this.wakeup.fire();
  }

  /**
   * True once every erasure up to `position` is scrubbed (by this instance or another), false after
   * `timeoutMs` or on stop; the scrub then still completes in the background.
   */
  async waitForScrub(position: bigint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.scrubbedPosition >= position) return true;
      const wait = this.scrubbedLocally.wait(Math.min(100, Math.max(0, deadline - Date.now())));
      try {
        if ((await this.stored().catch(() => 0n)) >= position) return true;
        if (this.stopped || Date.now() >= deadline) return false;
        await wait.promise;
      } finally {
        wait.cancel();
      }
    }
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    const { store, readDb, tables, logger } = this.options;
    let checkpoint = await this.stored();
    while (!signal.aborted) {
      const erasures = await store.readAll({ after: checkpoint, maxCount: 1000, filter: { eventTypes: [...(this.options.eventTypes ?? [ERASURE_EVENT])] } });
      if (erasures.length === 0) {
        await this.wakeup.sleep(this.options.pollMs ?? 1_000, signal);
        continue;
      }
      const target = erasures.at(-1)!.position;
      while (!(await this.options.projectionsReached(target, PROJECTION_WAIT_MS))) {
        if (signal.aborted) return;
      }
      await this.options.beforeScrub?.(erasures);
      await readDb.scrub([...tables, ...(await this.options.moreTables?.() ?? [])]);
      await this.options.scrubKeys?.();
      await this.checkpoints.save(NAME, target);
      checkpoint = target;
      this.scrubbedPosition = target;
      this.scrubbedLocally.fire();
      logger.info({ position: target.toString(), erasures: erasures.length }, 'read models scrubbed after erasure');
    }
  }

  private async stored(): Promise<bigint> {
    const stored = await this.checkpoints.read(NAME);
    if (stored > this.scrubbedPosition) this.scrubbedPosition = stored;
    return stored;
  }
}
