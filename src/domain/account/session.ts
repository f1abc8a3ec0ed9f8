import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { sanitizeText } from '../text.ts';
import type { Upcaster } from '../upcasting.ts';

/**
 * A login session. The bearer token itself never enters the log: only its sha256, which is enough to
 * recognise the token and useless to anyone who reads the log.
 * SessionStarted version 2 added where it was started from: the client address and user agent, both
 * personal data; null when unknown, and for version-1 events. They are sealed under the session's own
 * key, `<userId>/session/<sessionId>`, so login-record retention can shred them (values recorded before
 * that stay under the user's key and go when the user is erased).
 */
export type SessionEvent =
  | DomainEvent<'SessionStarted', {
    sessionId: string; userId: string; tokenHash: string; expiresAt: string; clientAddress: string | null; userAgent: string | null;
  }>
  /** `logout`: by its own token; `revoked`: ended from the sessions list, by its owner or an admin (the actor). */
  | DomainEvent<'SessionEnded', { sessionId: string; userId: string; reason: 'logout' | 'revoked' }>
  /** Recorded by the session expiry sweep once `expiresAt` has passed, for a session nobody ended. */
  | DomainEvent<'SessionExpired', { sessionId: string; userId: string; expiresAt: string }>;

export type SessionCommand =
  | { type: 'StartSession'; sessionId: string; userId: string; tokenHash: string; expiresAt: string;
      clientAddress?: string | null; userAgent?: string | null }
  | { type: 'EndSession'; sessionId: string; actorId: string }
  /** Ends a session of `userId` (whoever is allowed to is the caller's decision): NOT_FOUND unless it is theirs. */
  | { type: 'RevokeSession'; sessionId: string; userId: string }
  /** `now` is the caller's clock: a session is only expired once its expiry time has passed. */
  | { type: 'ExpireSession'; sessionId: string; now: string };

export interface SessionState {
  status: 'none' | 'active' | 'ended';
  userId: string | null;
  expiresAt: string | null;
}

export const sessionStream = (sessionId: string) => `session-${sessionId}`;

export const MAX_CLIENT_ADDRESS_LENGTH = 100;
export const MAX_USER_AGENT_LENGTH = 500;

export const sessionPersonalData: Readonly<Record<string, PersonalFields>> = {
  SessionStarted: { subjectField: 'userId', fields: ['clientAddress', 'userAgent'], keyScope: { kind: 'session', field: 'sessionId' } },
};

export const sessionUpcasters: readonly Upcaster[] = [
  { type: 'SessionStarted', fromVersion: 1, upcast: (data) => ({ ...(data as object), clientAddress: null, userAgent: null }) },
];

/** What a client says about itself is recorded as one line, cut to a bound; blank means unknown. */
function clientText(value: unknown, max: number): string | null {
  if (typeof value !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const text = sanitizeText(value).replace(/[\u0000-\u001F\u007F-\u009F]+/g, ' ').trim();
  return text.length === 0 ? null : text.slice(0, max);
}

export const sessionDecider: Decider<SessionCommand, SessionState, SessionEvent> = {
  initialState: () => ({ status: 'none', userId: null, expiresAt: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'SessionStarted':
        return { status: 'active', userId: event.data.userId, expiresAt: event.data.expiresAt };
      case 'SessionEnded':
      case 'SessionExpired':
        return { ...state, status: 'ended' };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'StartSession':
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Session already exists');
        if (!/^[0-9a-f]{64}$/.test(command.tokenHash)) throw new DomainError('BAD_USER_INPUT', 'Token hash must be a sha256 hex digest');
        return [{
          type: 'SessionStarted',
          data: {
            sessionId: command.sessionId, userId: command.userId, tokenHash: command.tokenHash, expiresAt: command.expiresAt,
            clientAddress: clientText(command.clientAddress, MAX_CLIENT_ADDRESS_LENGTH), userAgent: clientText(command.userAgent, MAX_USER_AGENT_LENGTH),
          },
        }];
      case 'EndSession':
        if (state.status === 'none' || state.userId !== command.actorId) throw new DomainError('NOT_FOUND', 'Session not found');
        if (state.status === 'ended') return [];
        return [{ type: 'SessionEnded', data: { sessionId: command.sessionId, userId: state.userId, reason: 'logout' } }];
      case 'RevokeSession':
        if (state.status === 'none' || state.userId !== command.userId) throw new DomainError('NOT_FOUND', 'Session not found');
        if (state.status === 'ended') return [];
        return [{ type: 'SessionEnded', data: { sessionId: command.sessionId, userId: state.userId, reason: 'revoked' } }];
      case 'ExpireSession': {
        if (state.status === 'none' || state.userId === null || state.expiresAt === null) throw new DomainError('NOT_FOUND', 'Session not found');
        const now = Date.parse(command.now);
        if (Number.isNaN(now)) throw new DomainError('BAD_USER_INPUT', 'The time must be an ISO date');
        if (state.status === 'ended' || now < Date.parse(state.expiresAt)) return [];
        return [{ type: 'SessionExpired', data: { sessionId: command.sessionId, userId: state.userId, expiresAt: state.expiresAt } }];
      }
    }
  },

  schemaVersions: { SessionStarted: 2, SessionEnded: 1, SessionExpired: 1 },
};
