import type { CommandContext } from '../commands/context.ts';
import { executeCommand } from '../commands/execute-command.ts';
import { sessionDecider, sessionStream } from '../domain/account/session.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { LeaseLoop } from './processor/lease-loop.ts';
import { expiredOpenSessions } from './users-queries.ts';

const BATCH = 100;

export interface SessionExpiryOptions {
  store: EventStore;
  readDb: ReadDb;
  logger: Logger;
  /** Context of the sweep's events (a system actor). */
  newContext(): CommandContext;
  /** How often the sessions read model is checked for sessions past their expiry (default 60 s). */
  intervalMs?: number;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
}

/**
 * Records SessionExpired for every session whose expiry passed without a logout: expiry is an action
 * of the platform, so it is a fact in the log too (a token past its expiry is refused either way, by
 * the session query). One instance sweeps at a time (a lease); the decider makes a repeat a no-op.
 */
export class SessionExpiry {
  private readonly options: SessionExpiryOptions;
  private readonly loop: LeaseLoop;
  private readonly wake = new Wakeup();

  constructor(options: SessionExpiryOptions) {
    this.options = options;
    this.loop = new LeaseLoop({
      db: options.readDb, leaseName: 'reactor:session-expiry', logger: options.logger,
      leaseRetryMs: options.leaseRetryMs ?? 5_000, errorBackoffMs: options.errorBackoffMs ?? 5_000,
      whileLeased: (signal) => this.whileLeased(signal),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One sweep: records every expired open session (in batches); returns how many it recorded. */
  async sweep(signal?: AbortSignal): Promise<number> {
    let recorded = 0;
    for (;;) {
      const ids = await expiredOpenSessions(this.options.readDb, BATCH);
      let progressed = false;
      for (const sessionId of ids) {
        if (signal?.aborted) return recorded;
        const stream = sessionStream(sessionId);
        const started = (await this.options.store.readStream(stream, { maxCount: 1 }))[0];
        // The expiry follows from the start of the session: its cause, in its correlation.
        const context = started
          ? { ...this.options.newContext(), causationId: started.id, correlationId: started.metadata.correlationId }
          : this.options.newContext();
        try {
          const result = await executeCommand(this.options.store, sessionDecider, stream,
            { type: 'ExpireSession', sessionId, now: context.now().toISOString() }, context);
          if (result.events.length > 0) {
            recorded++;
            progressed = true;
          }
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
        }
      }
      // A full batch of which nothing was new is rows the users projection has not caught up with: next sweep.
      if (ids.length < BATCH || !progressed) return recorded;
    }
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const count = await this.sweep(signal);
      if (count > 0) this.options.logger.info({ count }, 'expired sessions recorded');
      await this.wake.sleep(this.options.intervalMs ?? 60_000, signal);
    }
  }
}
