import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * Login attempts per email address (the stream is named by a keyed hash of the address, so unknown
 * addresses are recorded too without storing them). Too many failures in a window lock the address.
 */
export type LoginFailureReason = 'unknown_email' | 'bad_password' | 'inactive';

export type LoginAttemptEvent =
  | DomainEvent<'LoginFailed', { userId: string | null; reason: LoginFailureReason; at: string }>
  | DomainEvent<'LoginSucceeded', { userId: string; sessionId: string; at: string }>;

export type LoginAttemptCommand =
  | { type: 'RecordLoginFailure'; userId: string | null; reason: LoginFailureReason; at: string }
  | { type: 'RecordLoginSuccess'; userId: string; sessionId: string; at: string };

export interface LoginAttemptState {
  /** Times (ms) of failures since the last success, newest last. */
  failures: number[];
}

export const LOGIN_LOCKOUT_FAILURES = 10;
export const LOGIN_LOCKOUT_WINDOW_MS = 15 * 60 * 1000;

export const loginAttemptsStream = (emailKey: string) => `login_attempts-${emailKey}`;

/** Seconds until another attempt is allowed, or 0 when the address is not locked. */
export function lockoutRemainingSeconds(state: LoginAttemptState, nowMs: number): number {
  const recent = state.failures.filter((t) => nowMs - t < LOGIN_LOCKOUT_WINDOW_MS);
  if (recent.length < LOGIN_LOCKOUT_FAILURES) return 0;
  const unlockAt = recent[recent.length - LOGIN_LOCKOUT_FAILURES]! + LOGIN_LOCKOUT_WINDOW_MS;
  return Math.max(1, Math.ceil((unlockAt - nowMs) / 1000));
}

export const loginAttemptDecider: Decider<LoginAttemptCommand, LoginAttemptState, LoginAttemptEvent> = {
  initialState: () => ({ failures: [] }),

  evolve(state, event) {
    switch (event.type) {
      case 'LoginFailed':
        return { failures: [...state.failures, Date.parse(event.data.at)].slice(-LOGIN_LOCKOUT_FAILURES) };
      case 'LoginSucceeded':
        return { failures: [] };
    }
  },

  decide(command) {
    if (Number.isNaN(Date.parse(command.at))) throw new DomainError('BAD_USER_INPUT', 'Attempt time must be an ISO date');
    switch (command.type) {
      case 'RecordLoginFailure':
        return [{ type: 'LoginFailed', data: { userId: command.userId, reason: command.reason, at: command.at } }];
      case 'RecordLoginSuccess':
        return [{ type: 'LoginSucceeded', data: { userId: command.userId, sessionId: command.sessionId, at: command.at } }];
    }
  },

  schemaVersions: { LoginFailed: 1, LoginSucceeded: 1 },
};
