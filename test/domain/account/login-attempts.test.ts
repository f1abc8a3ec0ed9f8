import { describe, expect, it } from 'vitest';
import { loginAttemptDecider, type LoginAttemptEvent } from '../../../src/domain/account/login-attempts.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(loginAttemptDecider);
const AT = '2026-01-01T00:00:00.000Z';
const failed = (userId: string | null = 'u1'): LoginAttemptEvent =>
  ({ type: 'LoginFailed', data: { userId, reason: userId ? 'bad_password' : 'unknown_email', at: AT } });
const succeeded: LoginAttemptEvent = { type: 'LoginSucceeded', data: { userId: 'u1', sessionId: 's1', at: AT } };

describe('Login attempts (the audit trail; throttling is the login throttle\'s)', () => {
  it('records a failure, for a known account or an unknown address', () => {
    spec.given([]).when({ type: 'RecordLoginFailure', userId: 'u1', reason: 'bad_password', at: AT })
      .then([{ type: 'LoginFailed', data: { userId: 'u1', reason: 'bad_password', at: AT } }]);
    spec.given([failed()]).when({ type: 'RecordLoginFailure', userId: null, reason: 'unknown_email', at: AT })
      .then([{ type: 'LoginFailed', data: { userId: null, reason: 'unknown_email', at: AT } }]);
  });

  it('records a failure however many came before: a guesser never locks the account here', () => {
    const many = Array.from({ length: 1000 }, () => failed());
    spec.given(many).when({ type: 'RecordLoginSuccess', userId: 'u1', sessionId: 's1', at: AT }).then([succeeded]);
    spec.given(many).when({ type: 'RecordLoginFailure', userId: 'u1', reason: 'inactive', at: AT })
      .then([{ type: 'LoginFailed', data: { userId: 'u1', reason: 'inactive', at: AT } }]);
  });

  it('records a success', () =>
    spec.given([failed()]).when({ type: 'RecordLoginSuccess', userId: 'u1', sessionId: 's1', at: AT }).then([succeeded]));

  it('refuses a time that is not a date, and an unknown reason', () => {
    spec.given([]).when({ type: 'RecordLoginFailure', userId: 'u1', reason: 'bad_password', at: 'yesterday' }).thenFails('BAD_USER_INPUT', /ISO date/);
    spec.given([]).when({ type: 'RecordLoginFailure', userId: 'u1', reason: 'typo' as never, at: AT }).thenFails('BAD_USER_INPUT', /reason/);
  });

  it('counts failures since the last success', () => {
    const state = (events: LoginAttemptEvent[]) => events.reduce(loginAttemptDecider.evolve, loginAttemptDecider.initialState());
    expect(state([failed(), failed(null)])).toEqual({ failuresSinceSuccess: 2 });
    expect(state([failed(), failed(), succeeded])).toEqual({ failuresSinceSuccess: 0 });
    expect(state([failed(), succeeded, failed()])).toEqual({ failuresSinceSuccess: 1 });
  });
});
