import type { CommandContext } from '../commands/context.ts';
import type { RetentionCommands } from '../commands/retention.ts';
import { DomainError } from '../domain/decider.ts';
import { expireLoginRecords, expiryCutoff, expiryDue, MAX_EXPIRED_SESSIONS } from '../domain/retention/retention.ts';
import { conversationStream } from '../domain/conversation/conversation.ts';
import { documentStream } from '../domain/document/document.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { Wakeup } from '../infra/wakeup.ts';
import { LeaseLoop } from './processor/lease-loop.ts';
import {
  conversationsIdleSince, documentsIdleSince, loginRecordsEndedBefore, type ExpiryCandidate,
} from './retention-queries.ts';

const NAME = 'retention';
/** Candidates looked at per query; a sweep goes on while a full batch still expired something. */
const BATCH = 100;
const MAX_BATCHES_PER_SWEEP = 50;

export interface RetentionReactorOptions {
  store: EventStore;
  readDb: ReadDb;
  retention: RetentionCommands;
  /** The clock expiry is measured by; tests inject one they move forward. */
  now(): Date;
  /** A system context (no actor) for the expiry events; the reactor sets correlation and causation. */
  newContext(): CommandContext;
  logger: Logger;
  /** Time between sweeps (default one hour); notify() sweeps at once. */
  intervalMs?: number;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
  /** Sessions per LoginRecordsExpired, 1 to MAX_EXPIRED_SESSIONS (the default); tests make it small to see the batching. */
  loginRecordsBatch?: number;
}

export interface SweepResult { conversations: number; documents: number; loginRecords: number }

/**
 * Records the expiries the retention policy calls for (docs/audit.md, "Retention and legal hold"): a
 * reactor on the processor core, leased so one instance sweeps. The read models only nominate
 * candidates; each is checked against its own stream (the time of its last event) and the hold streams
 * before ExpireConversation / ExpireDocument is decided, and the append's expected revision refuses it
 * if anything happened in between. The key shredding, blob deletion and scrub follow from the recorded
 * events (ErasureScrubber with the expiry hook), so a crash after recording loses nothing.
 */
export class RetentionReactor {
  private readonly options: RetentionReactorOptions;
  private readonly loop: LeaseLoop;
  private readonly wakeup = new Wakeup();

  constructor(options: RetentionReactorOptions) {
    this.options = options;
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
    await this.loop.stop();
  }

  /** Sweep now rather than at the next interval (a policy or hold changed). */
  notify(): void {
    this.wakeup.fire();
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sweep();
      await this.wakeup.sleep(this.options.intervalMs ?? 3_600_000, signal);
    }
  }

  /** One pass over every kind; public so tests (and the leased loop) drive it with their clock. */
  async sweep(): Promise<SweepResult> {
    const { retention, logger } = this.options;
    const policy = await retention.policy();
    const now = this.options.now();
    const base = this.options.newContext();
    // Expiries are the system's acts, caused by the policy in force.
    const context: CommandContext = { ...base, actorId: null, causationId: policy.eventId };
    const result: SweepResult = { conversations: 0, documents: 0, loginRecords: 0 };
    const days = policy.policy;

    if (days.conversations !== null) {
      const retentionDays = days.conversations;
      result.conversations = await this.expireAll(
        (cutoff) => conversationsIdleSince(this.options.readDb, cutoff, BATCH), expiryCutoff(now, retentionDays),
        async (candidate) => {
          const last = await this.lastActivity(conversationStream(candidate.id));
          const held = await retention.conversationHeld(candidate.id, candidate.ownerId);
          if (last === null || !expiryDue({ policyDays: retentionDays, lastActivityAt: last, held, now })) return false;
          const { events } = await retention.expireConversation({ conversationId: candidate.id, lastActivityAt: last, retentionDays }, context);
          return events.length > 0;
        });
    }
    if (days.documents !== null) {
      const retentionDays = days.documents;
      result.documents = await this.expireAll(
        (cutoff) => documentsIdleSince(this.options.readDb, cutoff, BATCH), expiryCutoff(now, retentionDays),
        async (candidate) => {
          const last = await this.lastActivity(documentStream(candidate.id));
          const held = await retention.personHeld(candidate.ownerId);
          if (last === null || !expiryDue({ policyDays: retentionDays, lastActivityAt: last, held, now })) return false;
          const { events } = await retention.expireDocument({ documentId: candidate.id, lastActivityAt: last, retentionDays }, context);
          return events.length > 0;
        });
    }
    if (days.loginRecords !== null) result.loginRecords = await this.expireLoginRecords(days.loginRecords, now, context);
    if (result.conversations + result.documents + result.loginRecords > 0) {
      logger.info({ ...result }, 'retention: expiries recorded');
    }
    return result;
  }

  private async expireAll(
    candidates: (cutoff: Date) => Promise<ExpiryCandidate[]>, cutoff: Date, expire: (candidate: ExpiryCandidate) => Promise<boolean>,
  ): Promise<number> {
    let count = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_SWEEP; batch++) {
      const found = await candidates(cutoff);
      let expired = 0;
      for (const candidate of found) {
        try {
          if (await expire(candidate)) expired++;
        } catch (error) {
          // A reply being written, or a concurrent change: the next sweep looks again.
          if (!(error instanceof DomainError && error.code === 'CONFLICT')) throw error;
        }
      }
      count += expired;
      // Candidates that were not expired stay in the read model; stop rather than look at them again.
      if (found.length < BATCH || expired === 0) break;
    }
    return count;
  }

  /**
   * One LoginRecordsExpired per batch of sessions ended before the cutoff (the read model nominates,
   * the hold streams have the last word on who is held); returns the number of events recorded. The
   * batches are paged by session id, as the projection deletes the rows only after the append; a
   * sweep that runs before it has may name a session again, which deletes and shreds nothing new.
   */
  private async expireLoginRecords(policyDays: number, now: Date, context: CommandContext): Promise<number> {
    const { readDb, retention } = this.options;
    const cutoff = expiryCutoff(now, policyDays);
    const held = new Map<string, boolean>();
    let after: string | undefined;
    const limit = Math.min(Math.max(1, this.options.loginRecordsBatch ?? MAX_EXPIRED_SESSIONS), MAX_EXPIRED_SESSIONS);
    let recorded = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_SWEEP; batch++) {
      const found = await loginRecordsEndedBefore(readDb, cutoff, { afterSessionId: after, limit });
      if (found.length === 0) break;
      after = found.at(-1)!.sessionId;
      const due = [];
      for (const session of found) {
        if (!held.has(session.userId)) held.set(session.userId, await retention.personHeld(session.userId));
        if (!held.get(session.userId)) due.push(session);
      }
      for (const event of expireLoginRecords({ policyDays, now, sessions: due })) {
        await retention.expireLoginRecords(event, context);
        recorded++;
      }
      if (found.length < limit) break;
    }
    return recorded;
  }

  /** Time of the stream's last event, null when it has none. */
  private async lastActivity(stream: string): Promise<string | null> {
    const events = await this.options.store.readStream(stream);
    return events.at(-1)?.metadata.occurredAt ?? null;
  }
}
