import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * Login attempts per email address (the stream is named by a keyed hash of the address, so unknown
 * addresses are recorded too without storing them): the audit trail of failures and successes.
 * Throttling is not decided here but by the login throttle, per account and client address
 * (src/infra/login-throttle.ts), so that a guesser cannot lock the owner out.
 */
export type LoginFailureReason = 'unknown_email' | 'bad_password' | 'inactive';

export type LoginAttemptEvent =
  | DomainEvent<'LoginFailed', { userId: string | null; reason: LoginFailureReason; at: string }>
  | DomainEvent<'LoginSucceeded', { userId: string; sessionId: string; at: string }>
  /** Refused by the throttle before any check: neither a failure nor a success of the password. */
  | DomainEvent<'LoginThrottled', { userId: string | null; retryAfterSeconds: number; at: string }>;

export type LoginAttemptCommand =
  | { type: 'RecordLoginFailure'; userId: string | null; reason: LoginFailureReason; at: string }
  | { type: 'RecordLoginSuccess'; userId: string; sessionId: string; at: string }
  | { type: 'RecordLoginThrottled'; userId: string | null; retryAfterSeconds: number; at: string };

export interface LoginAttemptState {
  /** Failures since the last success. */
  failuresSinceSuccess: number;
}

export const loginAttemptsStream = (emailKey: string) => `login_attempts-${emailKey}`;

const REASONS: readonly LoginFailureReason[] = ['unknown_email', 'bad_password', 'inactive'];

export const loginAttemptDecider: Decider<LoginAttemptCommand, LoginAttemptState, LoginAttemptEvent> = {
  initialState: () => ({ failuresSinceSuccess: 0 }),

  evolve(state, event) {
    switch (event.type) {
      case 'LoginFailed':
        return { failuresSinceSuccess: state.failuresSinceSuccess + 1 };
      case 'LoginSucceeded':
        return { failuresSinceSuccess: 0 };
      case 'LoginThrottled':
        return state;
    }
  },

  decide(command) {
    if (Number.isNaN(Date.parse(command.at))) throw new DomainError('BAD_USER_INPUT', 'Attempt time must be an ISO date');
    switch (command.type) {
      case 'RecordLoginFailure':
        if (!REASONS.includes(command.reason)) throw new DomainError('BAD_USER_INPUT', `Unknown login failure reason: ${String(command.reason)}`);
        return [{ type: 'LoginFailed', data: { userId: command.userId, reason: command.reason, at: command.at } }];
      case 'RecordLoginSuccess':
        return [{ type: 'LoginSucceeded', data: { userId: command.userId, sessionId: command.sessionId, at: command.at } }];
      case 'RecordLoginThrottled': {
        const wait = command.retryAfterSeconds;
        if (!Number.isSafeInteger(wait) || wait < 0) throw new DomainError('BAD_USER_INPUT', 'Retry-after must be a whole number of seconds');
        return [{ type: 'LoginThrottled', data: { userId: command.userId, retryAfterSeconds: wait, at: command.at } }];
      }
    }
  },

  schemaVersions: { LoginFailed: 1, LoginSucceeded: 1, LoginThrottled: 1 },
};
