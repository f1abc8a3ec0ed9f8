import type { KeyObject } from 'node:crypto';
import { ChainConflictError, type ChainLink, type ChainStore } from '../infra/audit/chain-store.ts';
import { signCheckpoint } from '../infra/audit/checkpoint-signature.ts';
import { SealInThread, type BatchSealer } from '../infra/audit/seal-batch.ts';
import { keyIdOf } from '../infra/audit/signing-key.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { LeaseLoop } from './processor/lease-loop.ts';

const NAME = 'chain-sealer';

export interface ChainSealerOptions {
  /** The raw log (ciphertext of personal fields): never the encrypting or upcasting wrappers. */
  log: EventStore;
  chain: ChainStore;
  /**
   * Who reads, hashes and links the events (default: this thread, with `log` and `chain`). The app
   * passes a SealerThread, so that work runs beside the writers; the sealer closes it when it stops.
   */
  batches?: BatchSealer;
  signingKey: KeyObject;
  /** Where the lease comes from (the read database, as for every reactor). */
  leases: Pick<ReadDb, 'tryLease'>;
  logger: Logger;
  /** Events read and linked per chain transaction (default 1000). */
  batchSize?: number;
  /** A checkpoint is signed at least every this many events (default 10000)… */
  checkpointEvery?: number;
  /** …and, once caught up, when the last one is older than this (default 10 s; 0: at every catch-up). */
  checkpointIntervalMs?: number;
  /** How often a caught-up sealer looks for new events (default 250 ms). */
  idlePollMs?: number;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
  now?: () => Date;
}

/**
 * The reactor that seals the log (ARCHITECTURE.md §11): on the processor core's leased loop, it reads
 * the raw log after the chain head in position order, appends links in batches, and signs a
 * checkpoint every `checkpointEvery` events and after catching up. It runs behind the writers, so an
 * append never waits for it. Its checkpoint is the chain head itself; appendLinks refuses a link that
 * does not continue the head, so two sealers can never both write even without the lease.
 * On PostgreSQL readAll only returns rows of finished transactions in position order, so no event
 * can later appear behind the head; a position gap (a rolled-back append) is simply not linked.
 */
export class ChainSealer {
  private readonly options: ChainSealerOptions;
  private readonly loop: LeaseLoop;
  private readonly wake = new Wakeup();
  private readonly advanced = new Wakeup();
  private readonly keyId: string;
  private readonly now: () => Date;
  private readonly batches: BatchSealer;
  private sealedHead: ChainLink | undefined;

  constructor(options: ChainSealerOptions) {
    this.options = options;
    this.keyId = keyIdOf(options.signingKey);
    this.now = options.now ?? (() => new Date());
    this.batches = options.batches ?? new SealInThread(options.log, options.chain);
    this.loop = new LeaseLoop({
      db: options.leases,
      leaseName: `reactor:${NAME}`,
      logger: options.logger,
      leaseRetryMs: options.leaseRetryMs ?? 1_000,
      errorBackoffMs: options.errorBackoffMs ?? 1_000,
      whileLeased: (signal) => this.whileLeased(signal),
      isStandByError: (error) => error instanceof ChainConflictError,
    });
  }

  get leased(): boolean {
    return this.loop.holding;
  }

  start(): void {
    this.loop.start();
  }

  /** New events were appended: look now rather than at the next poll. */
  notify(): void {
    this.wake.fire();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.batches.close();
  }

  /** Waits until the chain covers `position` (sealed here or by another instance); false on timeout. */
  async waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const wait = this.advanced.wait(Math.min(200, Math.max(0, deadline - Date.now())));
      try {
        if ((this.sealedHead?.position ?? 0n) >= position) return true;
        if ((await this.options.chain.head()).position >= position) return true;
        if (Date.now() >= deadline) return false;
        this.notify();
        await wait.promise;
      } finally {
        wait.cancel(); // also when reading the chain's head fails
      }
    }
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    const { log, chain, logger } = this.options;
    const batchSize = this.options.batchSize ?? 1_000;
    const every = this.options.checkpointEvery ?? 10_000;
    const intervalMs = this.options.checkpointIntervalMs ?? 10_000;
    const idlePollMs = this.options.idlePollMs ?? 250;
    let head = await chain.head();
    const latest = await chain.latestCheckpoint();
    let checkpointSeq = latest?.seq ?? 0;
    let checkpointAt = latest ? Date.parse(latest.signedAt) : 0;
    const checkpoint = async () => {
      const signed = signCheckpoint(this.options.signingKey, head, this.now(), this.keyId);
      await chain.putCheckpoint(signed);
      checkpointSeq = head.seq;
      checkpointAt = Date.parse(signed.signedAt);
      logger.debug({ seq: head.seq, position: head.position.toString() }, 'chain checkpoint signed');
    };
    while (!signal.aborted) {
      // Registered before the look at the log: an append notified while it is on its way is not lost
      // until the next poll.
      const woken = this.wake.wait(idlePollMs, signal);
      try {
        // Asking the log first keeps a caught-up sealer cheap (and its thread unstarted until there is work).
        const step = (await log.headPosition()) > head.position ? await this.batches.sealNext(head, batchSize) : { head, count: 0 };
        if (step.count > 0) {
          head = step.head;
          this.sealedHead = head;
          this.advanced.fire();
        }
        const caughtUp = step.count < batchSize;
        const due = head.seq - checkpointSeq >= every
          || (caughtUp && head.seq > checkpointSeq && this.now().getTime() - checkpointAt >= intervalMs);
        if (due && !signal.aborted) await checkpoint();
        if (caughtUp) await woken.promise;
      } finally {
        woken.cancel();
      }
    }
    // Stopping (not a lost lease): sign what this run sealed, so a clean shutdown leaves no unsigned tail.
    if (this.loop.stopped && head.seq > checkpointSeq) await checkpoint().catch((error: unknown) => logger.warn({ err: error }, 'final chain checkpoint failed'));
  }
}
