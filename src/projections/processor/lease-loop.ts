import type { Logger } from 'pino';
import type { Lease, ReadDb } from '../../infra/read-db/port.ts';
import { Wakeup } from '../../infra/wakeup.ts';
import { Backoff } from './backoff.ts';

export interface LeaseLoopOptions {
  db: Pick<ReadDb, 'tryLease'>;
  /** e.g. `projection:users`; one holder across every instance. */
  leaseName: string;
  logger: Logger;
  /** How often a standby instance tries to take the lease. */
  leaseRetryMs: number;
  /** First pause after an error in `whileLeased`; doubles on each further error (see Backoff). */
  errorBackoffMs: number;
  /**
   * The work, run while the lease is held. `signal` aborts when the lease is lost or the loop stops:
   * the work must then stop acting at once and return. Throwing is logged, backed off and retried
   * with the lease still held (if it is).
   */
  whileLeased(signal: AbortSignal): Promise<void>;
  /** Errors meaning another instance did the work under us: give the lease up and stand by. */
  isStandByError?(error: unknown): boolean;
}

/**
 * The leased loop at the heart of every processor (projections and reactors, ARCHITECTURE.md §4):
 * take the lease, run the work until the lease is lost or the loop stops, back off after errors,
 * stand by while another instance holds it.
 */
export class LeaseLoop {
  private readonly options: LeaseLoopOptions;
  private readonly stopping = new AbortController();
  private readonly wake = new Wakeup();
  private readonly backoff: Backoff;
  private lease: Lease | null = null;
  private denied = false;
  private done: Promise<void> | undefined;

  constructor(options: LeaseLoopOptions) {
    this.options = options;
    this.backoff = new Backoff(options.errorBackoffMs);
  }

  /** True while this instance holds a lease that has not been lost. */
  get holding(): boolean {
    return this.lease !== null && !this.lease.lost.aborted;
  }

  /** True when the last attempt to take the lease found another holder. */
  get heldElsewhere(): boolean {
    return this.denied && this.lease === null;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  start(): void {
    this.done ??= this.run();
  }

  /** Asks the work to stop and waits for it (at most `timeoutMs`); the lease is released either way. */
  async stop(timeoutMs = 10_000): Promise<boolean> {
    this.stopping.abort();
    this.wake.fire();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.done ?? Promise.resolve()).then(() => true),
      new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.options.logger.warn('work did not stop in time; releasing its lease anyway');
      await this.release();
    }
    return finished;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      try {
        if (!this.lease) {
          if (!(await this.acquire())) {
            await this.wake.sleep(this.options.leaseRetryMs, this.stopping.signal);
            continue;
          }
        }
        const lease = this.lease!;
        await this.options.whileLeased(AbortSignal.any([this.stopping.signal, lease.lost]));
        this.backoff.reset();
        if (this.stopped) break;
        if (lease.lost.aborted) await this.standBy('lease lost; standing by');
        else await this.wake.sleep(this.options.leaseRetryMs, this.stopping.signal); // the work ended by itself: no spinning
      } catch (error) {
        if (this.stopped) break;
        if (this.lease?.lost.aborted) {
          await this.standBy('lease lost; standing by');
        } else if (this.options.isStandByError?.(error)) {
          logger.warn({ err: error }, 'another instance ran this work; standing by');
          await this.standBy(null);
        } else {
          const waitMs = this.backoff.next();
          logger.error({ err: error, retryInMs: waitMs }, 'processor error; retrying');
          await this.wake.sleep(waitMs, this.stopping.signal);
        }
      }
    }
    await this.release();
  }

  private async acquire(): Promise<boolean> {
    const lease = await this.options.db.tryLease(this.options.leaseName);
    this.denied = lease === null;
    if (!lease) return false;
    if (this.stopped || lease.lost.aborted) {
      await lease.release().catch(() => {});
      return false;
    }
    this.lease = lease;
    lease.lost.addEventListener('abort', () => this.wake.fire(), { once: true });
    return true;
  }

  /** Gives the lease up and waits, so a healthier instance gets the first chance to take it. */
  private async standBy(message: string | null): Promise<void> {
    if (message) this.options.logger.warn(message);
    await this.release();
    await this.wake.sleep(this.options.leaseRetryMs, this.stopping.signal);
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    await lease?.release().catch((err: unknown) => this.options.logger.warn({ err }, 'releasing the lease failed'));
  }
}
