import type { EventStore, RecordedEvent, Subscription } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { ReactorCheckpoints } from './processor/checkpoints.ts';
import { LeaseLoop } from './processor/lease-loop.ts';

const NAME = 'erasure-scrub';
export const ERASURE_EVENT = 'UserDataErased';
/** How long one wait for the projections lasts before the loop checks whether it should stop. */
const PROJECTION_WAIT_MS = 1_000;
/** The most erasures and expiries scrubbed in one go. */
const MAX_BATCH = 1_000;
/** How long an idle wait lasts before it looks again at whether the loop should stop. */
const IDLE_CHECK_MS = 1_000;

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
    // A subscription rather than a read from the checkpoint every second: the store knows how to
    // wait cheaply (SQLite moves past what it has scanned, KurrentDB filters on the server), and a
    // read from the checkpoint rescanned the whole log since the last erasure, on every poll.
    const subscription = store.subscribeToAll({
      after: await this.stored(), batchSize: MAX_BATCH, filter: { eventTypes: [...(this.options.eventTypes ?? [ERASURE_EVENT])] },
    });
    const arrivals = new Arrivals(subscription, signal);
    try {
      for (;;) {
        const erasures = await arrivals.next();
        if (erasures.length === 0) return;
        const target = erasures.at(-1)!.position;
        while (!(await this.options.projectionsReached(target, PROJECTION_WAIT_MS))) {
          if (signal.aborted) return;
        }
        await this.options.beforeScrub?.(erasures);
        await readDb.scrub([...tables, ...(await this.options.moreTables?.() ?? [])]);
        await this.options.scrubKeys?.();
        await this.checkpoints.save(NAME, target);
        this.scrubbedPosition = target;
        this.scrubbedLocally.fire();
        logger.info({ position: target.toString(), erasures: erasures.length }, 'read models scrubbed after erasure');
      }
    } finally {
      await arrivals.close();
    }
  }

  private async stored(): Promise<bigint> {
    const stored = await this.checkpoints.read(NAME);
    if (stored > this.scrubbedPosition) this.scrubbedPosition = stored;
    return stored;
  }
}

/**
 * The events of a subscription taken in batches: whatever one read of the store brought is scrubbed
 * in one go (a retention run expires many items at once), at most MAX_BATCH at a time.
 */
class Arrivals {
  private readonly pending: RecordedEvent[] = [];
  private readonly arrived = new Wakeup();
  private readonly taken = new Wakeup();
  private failure: { error: unknown } | undefined;
  private ended = false;
  private readonly subscription: Subscription;
  private readonly signal: AbortSignal;
  private readonly pump: Promise<void>;

  constructor(subscription: Subscription, signal: AbortSignal) {
    this.subscription = subscription;
    this.signal = signal;
    this.pump = this.run();
  }

  /** The next batch, or none once the subscription has ended (stopped, or the lease lost). */
  async next(): Promise<RecordedEvent[]> {
    while (this.pending.length === 0) {
      if (this.failure) throw this.failure.error;
      if (this.ended || this.signal.aborted) return [];
      await this.arrived.sleep(IDLE_CHECK_MS, this.signal);
    }
    // The events of one read arrive a microtask apart: let the rest of it in before taking them.
    await new Promise((resolve) => setImmediate(resolve));
    const batch = this.pending.splice(0, MAX_BATCH);
    this.taken.fire();
    return batch;
  }

  async close(): Promise<void> {
    await this.subscription.close();
    this.taken.fire();
    await this.pump;
  }

  private async run(): Promise<void> {
    const stop = () => void this.subscription.close();
    this.signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const event of this.subscription) {
        this.pending.push(event);
        this.arrived.fire();
        while (this.pending.length >= MAX_BATCH && !this.signal.aborted) await this.taken.sleep(IDLE_CHECK_MS, this.signal);
      }
    } catch (error) {
      this.failure = { error };
    } finally {
      this.ended = true;
      this.signal.removeEventListener('abort', stop);
      this.arrived.fire();
    }
  }
}
