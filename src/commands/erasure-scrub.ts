import type { EventStore } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { Lease, ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';

const NAME = 'erasure-scrub';
export const ERASURE_EVENT = 'UserDataErased';
/** How long one wait for the projections lasts before the loop checks whether it should stop. */
const PROJECTION_WAIT_MS = 1_000;

export interface ErasureScrubberOptions {
  store: EventStore;
  readDb: ReadDb;
  /** The read-model tables erasures delete rows from. */
  tables: readonly string[];
  /** Then scrubs the key store (its deleted keys), if it needs it. */
  scrubKeys?(): Promise<void>;
  /** True once every read model has applied the log up to `position`, false after `timeoutMs`. */
  projectionsReached(position: bigint, timeoutMs: number): Promise<boolean>;
  logger: Logger;
  /** How often the log is checked for erasures recorded elsewhere (default 1000 ms). */
  pollMs?: number;
  /** How often a standby instance tries to take the lease (default 1000 ms). */
  leaseRetryMs?: number;
  /** Pause after a failed scrub before it is tried again (default 1000 ms). */
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
  private readonly wakeup = new Wakeup();
  private readonly scrubbedLocally = new Wakeup();
  private scrubbedPosition = 0n;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(options: ErasureScrubberOptions) {
    this.options = options;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup.fire();
    this.scrubbedLocally.fire();
    await this.running;
  }

  /** An erasure was just recorded: look at once rather than at the next poll. */
  notify(): void {
    this.wakeup.fire();
  }

  /**
   * True once every erasure up to `position` is scrubbed (by this instance or another), false after
   * `timeoutMs`; the scrub then still completes in the background.
   */
  async waitForScrub(position: bigint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.scrubbedPosition >= position) return true;
      const wait = this.scrubbedLocally.wait(Math.min(100, Math.max(0, deadline - Date.now())));
      try {
        if ((await this.checkpoint()) >= position) return true;
        if (this.stopped || Date.now() >= deadline) return false;
        await wait.promise;
      } finally {
        wait.cancel();
      }
    }
  }

  private async run(): Promise<void> {
    const { readDb, logger } = this.options;
    while (!this.stopped) {
      let lease: Lease | null = null;
      try {
        lease = await readDb.tryLease(`reactor:${NAME}`);
        if (lease) await this.whileLeased(lease);
      } catch (err) {
        if (!this.stopped) logger.error({ err }, 'erasure scrub failed; retrying');
        await this.wakeup.sleep(this.options.errorBackoffMs ?? 1_000);
      } finally {
        await lease?.release().catch(() => {});
      }
      if (!lease && !this.stopped) await this.wakeup.sleep(this.options.leaseRetryMs ?? 1_000);
    }
  }

  private async whileLeased(lease: Lease): Promise<void> {
    const { store, readDb, tables, logger } = this.options;
    const { lost } = lease;
    let checkpoint = await this.checkpoint();
    while (!this.stopped && !lost.aborted) {
      const erasures = await store.readAll({ after: checkpoint, maxCount: 1000, filter: { eventTypes: [ERASURE_EVENT] } });
      if (erasures.length === 0) {
        await this.wakeup.sleep(this.options.pollMs ?? 1_000, lost);
        continue;
      }
      const target = erasures.at(-1)!.position;
      while (!(await this.options.projectionsReached(target, PROJECTION_WAIT_MS))) {
        if (this.stopped || lost.aborted) return;
      }
      await readDb.scrub(tables);
      await this.options.scrubKeys?.();
      await readDb.query(
        `INSERT INTO reactor_checkpoints (name, position, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (name) DO UPDATE SET position = GREATEST(reactor_checkpoints.position, EXCLUDED.position), updated_at = now()`,
        [NAME, target.toString()],
      );
      checkpoint = target;
      this.scrubbedPosition = target;
      this.scrubbedLocally.fire();
      logger.info({ position: target.toString(), erasures: erasures.length }, 'read models scrubbed after erasure');
    }
  }

  private async checkpoint(): Promise<bigint> {
    const { rows } = await this.options.readDb.query<{ position: string }>(
      'SELECT position FROM reactor_checkpoints WHERE name = $1', [NAME],
    );
    const stored = rows[0] ? BigInt(rows[0].position) : 0n;
    if (stored > this.scrubbedPosition) this.scrubbedPosition = stored;
    return stored;
  }
}
