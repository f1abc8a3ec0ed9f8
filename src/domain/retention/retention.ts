import { DomainError, type Decider, type DomainEvent } from '../decider.ts';
import { checkId } from '../identifiers.ts';
import { checkText } from '../text.ts';

/**
 * Retention and legal hold (docs/audit.md, "Retention and legal hold"). Admins set how long each kind
 * of data is kept; the retention reactor records an expiry for every item whose last activity is older
 * than that, unless a legal hold covers it. A hold also refuses the erasure of the person it covers.
 */

// --- limits ---------------------------------------------------------------------------------------

export const RETENTION_KINDS = ['conversations', 'documents', 'loginRecords'] as const;
export type RetentionKind = typeof RETENTION_KINDS[number];
/** At least a day (nothing expires under a person's hands), at most a hundred years. */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 36_500;
export const MAX_HOLD_REASON_LENGTH = 500;
const DAY_MS = 86_400_000;

/** Days each kind is kept after its last activity; null keeps it forever (the default). */
export type RetentionPolicy = Readonly<Record<RetentionKind, number | null>>;
export const KEEP_FOREVER: RetentionPolicy = { conversations: null, documents: null, loginRecords: null };

// --- the policy -----------------------------------------------------------------------------------

/** The whole policy after the change, so one event tells all. */
export type RetentionPolicySet = DomainEvent<'RetentionPolicySet', { policy: RetentionPolicy }>;
export type RetentionPolicyEvent = RetentionPolicySet;
/** Kinds left out keep their setting; null means keep forever. */
export type RetentionPolicyCommand = { type: 'SetRetentionPolicy'; changes: Partial<Record<RetentionKind, number | null>> };
export interface RetentionPolicyState { policy: RetentionPolicy }

export const RETENTION_POLICY_STREAM = 'retention-policy';

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

/** An integer number of days within the bounds, or null (keep forever). */
export function checkRetentionDays(value: unknown, kind: string): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_RETENTION_DAYS || value > MAX_RETENTION_DAYS) {
    throw bad(`${kind}: the retention must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}, or keep forever`);
  }
  return value;
}

export const retentionPolicyDecider: Decider<RetentionPolicyCommand, RetentionPolicyState, RetentionPolicyEvent> = {
  initialState: () => ({ policy: KEEP_FOREVER }),
  evolve: (state, event) => (event.type === 'RetentionPolicySet' ? { policy: event.data.policy } : state),
  decide(command, state) {
    const changes = command.changes as Record<string, unknown> | null;
    if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) throw bad('The changes must be an object');
    const unknown = Object.keys(changes).filter((key) => !(RETENTION_KINDS as readonly string[]).includes(key));
    if (unknown.length > 0) throw bad(`Unknown kind of data: ${unknown.slice(0, 3).join(', ').slice(0, 100)}`);
    const policy: Record<RetentionKind, number | null> = { ...state.policy };
    for (const kind of RETENTION_KINDS) {
      if (changes[kind] !== undefined) policy[kind] = checkRetentionDays(changes[kind], kind);
    }
    if (RETENTION_KINDS.every((kind) => policy[kind] === state.policy[kind])) return [];
    return [{ type: 'RetentionPolicySet', data: { policy } }];
  },
  schemaVersions: { RetentionPolicySet: 1 },
};

// --- legal holds ----------------------------------------------------------------------------------

export type HoldTarget = 'person' | 'conversation';
export const HOLD_TARGETS: readonly HoldTarget[] = ['person', 'conversation'];

/**
 * `ownerId` is the person the held data belongs to (the person themself for a person hold). The reason
 * is the admin's note (a case reference), shown to admins only; it is not sealed as personal data.
 */
interface HoldFacts { holdId: string; target: HoldTarget; targetId: string; ownerId: string; reason: string }
export type LegalHoldPlaced = DomainEvent<'LegalHoldPlaced', HoldFacts>;
export type LegalHoldLifted = DomainEvent<'LegalHoldLifted', HoldFacts>;
export type LegalHoldEvent = LegalHoldPlaced | LegalHoldLifted;

export type LegalHoldCommand =
  | { type: 'PlaceLegalHold'; holdId: string; target: HoldTarget; targetId: string; ownerId: string; reason: string }
  | { type: 'LiftLegalHold'; target: HoldTarget; targetId: string; reason: string };

export type LegalHoldState =
  | { status: 'none' }
  | { status: 'held'; holdId: string; target: HoldTarget; targetId: string; ownerId: string; reason: string }
  | { status: 'lifted'; target: HoldTarget; targetId: string; ownerId: string };

/** One stream per held thing, so placing and lifting on it are ordered and conflict-checked. */
export const legalHoldStream = (target: HoldTarget, targetId: string) => `legal-hold-${target}-${targetId}`;

export function checkHoldTarget(value: unknown): HoldTarget {
  if (typeof value !== 'string' || !(HOLD_TARGETS as readonly string[]).includes(value)) throw bad('The target must be a person or a conversation');
  return value as HoldTarget;
}

/** Trimmed; 1 to MAX_HOLD_REASON_LENGTH characters on one line. */
export function normalizeHoldReason(raw: unknown): string {
  const reason = checkText(raw ?? '', 'Reason', 'single-line').trim();
  if (reason.length === 0 || reason.length > MAX_HOLD_REASON_LENGTH) throw bad(`Reason must be 1 to ${MAX_HOLD_REASON_LENGTH} characters`);
  return reason;
}

export const legalHoldDecider: Decider<LegalHoldCommand, LegalHoldState, LegalHoldEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve(_state, event) {
    const { holdId, target, targetId, ownerId, reason } = event.data;
    return event.type === 'LegalHoldPlaced'
      ? { status: 'held', holdId, target, targetId, ownerId, reason }
      : { status: 'lifted', target, targetId, ownerId };
  },
  decide(command, state) {
    const target = checkHoldTarget(command.target);
    const targetId = checkId(command.targetId, 'Target id');
    const reason = normalizeHoldReason(command.reason);
    switch (command.type) {
      case 'PlaceLegalHold': {
        if (state.status === 'held') throw new DomainError('CONFLICT', 'It is already under a legal hold');
        const data = { holdId: checkId(command.holdId, 'Hold id'), target, targetId, ownerId: checkId(command.ownerId, 'Owner id'), reason };
        return [{ type: 'LegalHoldPlaced', data }];
      }
      case 'LiftLegalHold': {
        if (state.status !== 'held') throw new DomainError('NOT_FOUND', 'There is no legal hold on it');
        return [{ type: 'LegalHoldLifted', data: { holdId: state.holdId, target, targetId, ownerId: state.ownerId, reason } }];
      }
    }
  },
  schemaVersions: { LegalHoldPlaced: 1, LegalHoldLifted: 1 },
};

/** Erasure of a person is refused while a hold covers them or any conversation of theirs. */
export function refuseErasureUnderHold(holds: readonly LegalHoldState[]): void {
  if (holds.some((hold) => hold.status === 'held')) {
    throw new DomainError('LEGAL_HOLD', 'This person\'s data is under a legal hold; it cannot be erased until the hold is lifted');
  }
}

// --- expiry ---------------------------------------------------------------------------------------

/** Items whose last activity is before this moment have outlived `days`. */
export function expiryCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

/**
 * Whether an item is due to expire: the policy keeps its kind for a number of days, its last activity
 * is older than that, and no hold covers it. Pure: the reactor passes the clock's now.
 */
export function expiryDue(input: { policyDays: number | null; lastActivityAt: string; held: boolean; now: Date }): boolean {
  if (input.policyDays === null || input.held) return false;
  const last = Date.parse(input.lastActivityAt);
  if (!Number.isFinite(last)) return false;
  return last < expiryCutoff(input.now, input.policyDays).getTime();
}

/**
 * Login records (sessions) that ended (logged out, or ran out) before `endedBefore`, held people's
 * excluded: each event names the sessions it covers, at most MAX_EXPIRED_SESSIONS per event. The users
 * projection deletes exactly those rows and the expiry shredder deletes each session's own key
 * (`<userId>/session/<sessionId>`), so its client address and user agent read as erased. Recorded on
 * one stream, by the system. The ids are pseudonymous.
 */
export interface ExpiredSession { userId: string; sessionId: string }
export type LoginRecordsExpired = DomainEvent<'LoginRecordsExpired', { endedBefore: string; retentionDays: number; sessions: ExpiredSession[] }>;
export const LOGIN_RECORDS_STREAM = 'retention-login-records';
export const MAX_EXPIRED_SESSIONS = 1000;

/** The events expiring `sessions` (duplicates dropped), in batches of at most MAX_EXPIRED_SESSIONS; none when kept forever. */
export function expireLoginRecords(input: { policyDays: number | null; now: Date; sessions: readonly ExpiredSession[] }): LoginRecordsExpired[] {
  if (input.policyDays === null) return [];
  const endedBefore = expiryCutoff(input.now, input.policyDays).toISOString();
  const unique = new Map<string, ExpiredSession>();
  for (const { userId, sessionId } of input.sessions) unique.set(sessionId, { userId, sessionId });
  const sessions = [...unique.values()];
  const events: LoginRecordsExpired[] = [];
  for (let i = 0; i < sessions.length; i += MAX_EXPIRED_SESSIONS) {
    events.push({ type: 'LoginRecordsExpired', data: { endedBefore, retentionDays: input.policyDays, sessions: sessions.slice(i, i + MAX_EXPIRED_SESSIONS) } });
  }
  return events;
}

/** The event types whose rows the projections delete and whose traces the erasure scrub removes. */
export const EXPIRY_EVENTS = ['ConversationExpired', 'DocumentExpired', 'LoginRecordsExpired'] as const;
