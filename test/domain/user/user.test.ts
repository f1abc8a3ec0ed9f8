import { describe, it } from 'vitest';
import { userDecider, type UserEvent } from '../../../src/domain/user/user.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(userDecider);
const registered: UserEvent = { type: 'UserRegistered', data: { userId: 'u1', email: 'ada@example.com', displayName: 'Ada' } };

describe('User decider', () => {
  describe('RegisterUser', () => {
    it('registers with a normalised email and trimmed name', () =>
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: '  Ada@Example.COM ', displayName: ' Ada ' })
        .then([registered]));

    it('refuses a second registration', () =>
      spec.given([registered]).when({ type: 'RegisterUser', userId: 'u1', email: 'x@example.com', displayName: 'X' })
        .thenFails('CONFLICT', /already registered/));

    it('refuses an invalid email', () =>
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: 'not-an-email', displayName: 'A' })
        .thenFails('BAD_USER_INPUT', /Email/));

    it('refuses an over-long email with the limit in the message', () =>
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: `${'a'.repeat(250)}@example.com`, displayName: 'A' })
        .thenFails('BAD_USER_INPUT', /254/));

    it('refuses an empty or over-long display name', () => {
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com', displayName: '   ' })
        .thenFails('BAD_USER_INPUT', /1 to 100/);
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com', displayName: 'n'.repeat(101) })
        .thenFails('BAD_USER_INPUT', /1 to 100/);
    });
  });

  describe('ChangeUserEmail', () => {
    it('changes the email', () =>
      spec.given([registered]).when({ type: 'ChangeUserEmail', userId: 'u1', email: 'Ada@New.org' })
        .then([{ type: 'UserEmailChanged', data: { userId: 'u1', email: 'ada@new.org' } }]));

    it('does nothing when the email is the same', () =>
      spec.given([registered]).when({ type: 'ChangeUserEmail', userId: 'u1', email: 'ADA@example.com' }).then([]));

    it('refuses an unknown user', () =>
      spec.given([]).when({ type: 'ChangeUserEmail', userId: 'u1', email: 'a@b.co' }).thenFails('NOT_FOUND'));

    it('refuses a deactivated user', () =>
      spec.given([registered, { type: 'UserDeactivated', data: { userId: 'u1', reason: null } }])
        .when({ type: 'ChangeUserEmail', userId: 'u1', email: 'a@b.co' }).thenFails('CONFLICT', /deactivated/));
  });

  describe('DeactivateUser', () => {
    it('deactivates with a trimmed reason', () =>
      spec.given([registered]).when({ type: 'DeactivateUser', userId: 'u1', reason: ' left ' })
        .then([{ type: 'UserDeactivated', data: { userId: 'u1', reason: 'left' } }]));

    it('is idempotent', () =>
      spec.given([registered, { type: 'UserDeactivated', data: { userId: 'u1', reason: null } }])
        .when({ type: 'DeactivateUser', userId: 'u1' }).then([]));

    it('refuses an unknown user', () =>
      spec.given([]).when({ type: 'DeactivateUser', userId: 'u1' }).thenFails('NOT_FOUND'));
  });

  describe('EraseUserData', () => {
    const erased: UserEvent = { type: 'UserDataErased', data: { userId: 'u1' } };

    it('records the erasure', () =>
      spec.given([registered]).when({ type: 'EraseUserData', userId: 'u1' }).then([erased]));

    it('is idempotent', () =>
      spec.given([registered, erased]).when({ type: 'EraseUserData', userId: 'u1' }).then([]));

    it('refuses an unknown user', () =>
      spec.given([]).when({ type: 'EraseUserData', userId: 'u1' }).thenFails('NOT_FOUND'));

    it('an erased user cannot change email', () =>
      spec.given([registered, erased]).when({ type: 'ChangeUserEmail', userId: 'u1', email: 'a@b.co' }).thenFails('CONFLICT', /erased/));
  });
});

describe('User decider: hostile text', () => {
  it('refuses NUL, lone surrogates and control characters in emails and display names', () => {
    for (const value of ['ad\u0000a@example.com', 'ada\uD800@example.com', 'ada\u0001@example.com']) {
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: value, displayName: 'Ada' }).thenFails('BAD_USER_INPUT', /^Email/);
    }
    for (const value of ['bad\u0000name', 'lone\uDC00', 'two\nlines']) {
      spec.given([]).when({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com', displayName: value })
        .thenFails('BAD_USER_INPUT', /^Display name/);
    }
  });

  it('refuses a NUL in a deactivation reason', () =>
    spec.given([registered]).when({ type: 'DeactivateUser', userId: 'u1', reason: 'spam\u0000' }).thenFails('BAD_USER_INPUT', /^Reason/));
});
