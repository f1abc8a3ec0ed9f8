import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * A login session. The bearer token itself never enters the log: only its sha256, which is enough to
 * recognise the token and useless to anyone who reads the log.
 */
export type SessionEvent =
  | DomainEvent<'SessionStarted', { sessionId: string; userId: string; tokenHash: string; expiresAt: string }>
  | DomainEvent<'SessionEnded', { sessionId: string; userId: string; reason: 'logout' }>;

export type SessionCommand =
  | { type: 'StartSession'; sessionId: string; userId: string; tokenHash: string; expiresAt: string }
  | { type: 'EndSession'; sessionId: string; actorId: string };

export interface SessionState {
  status: 'none' | 'active' | 'ended';
  userId: string | null;
}

export const sessionStream = (sessionId: string) => `session-${sessionId}`;

export const sessionDecider: Decider<SessionCommand, SessionState, SessionEvent> = {
  initialState: () => ({ status: 'none', userId: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'SessionStarted':
        return { status: 'active', userId: event.data.userId };
      case 'SessionEnded':
        return { ...state, status: 'ended' };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'StartSession':
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Session already exists');
        if (!/^[0-9a-f]{64}$/.test(command.tokenHash)) throw new DomainError('BAD_USER_INPUT', 'Token hash must be a sha256 hex digest');
        return [{ type: 'SessionStarted', data: { sessionId: command.sessionId, userId: command.userId, tokenHash: command.tokenHash, expiresAt: command.expiresAt } }];
      case 'EndSession':
        if (state.status === 'none' || state.userId !== command.actorId) throw new DomainError('NOT_FOUND', 'Session not found');
        if (state.status === 'ended') return [];
        return [{ type: 'SessionEnded', data: { sessionId: command.sessionId, userId: state.userId, reason: 'logout' } }];
    }
  },

  schemaVersions: { SessionStarted: 1, SessionEnded: 1 },
};
