import { describe, it } from 'vitest';
import { userDecider, type UserEvent } from '../../../src/domain/user/user.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(userDecider);
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';
const TOKEN = 'b'.repeat(64);
const registered: UserEvent = { type: 'UserRegistered', data: { userId: 'u1', email: 'ada@example.com', displayName: 'Ada' } };
const admin: UserEvent = { type: 'UserRoleAssigned', data: { userId: 'u1', role: 'admin' } };
const member: UserEvent = { type: 'UserRoleAssigned', data: { userId: 'u1', role: 'member' } };
const deactivated: UserEvent = { type: 'UserDeactivated', data: { userId: 'u1', reason: null } };
const erased: UserEvent = { type: 'UserDataErased', data: { userId: 'u1' } };
const issued: UserEvent = { type: 'PasswordResetIssued', data: { userId: 'u1', resetId: 'r1', tokenHash: TOKEN, expiresAt: '2030-01-01T01:00:00.000Z' } };
const BEFORE_EXPIRY = '2030-01-01T00:30:00.000Z';

describe('User decider: admin acts', () => {
  describe('ChangeUserRole', () => {
    it('makes a member admin', () =>
      spec.given([registered, member]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'admin', otherActiveAdmins: 1 })
        .then([{ type: 'UserRoleAssigned', data: { userId: 'u1', role: 'admin' } }]));

    it('makes an admin member when another active admin remains', () =>
      spec.given([registered, admin]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'member', otherActiveAdmins: 1 })
        .then([member]));

    it('refuses to demote the last active admin', () =>
      spec.given([registered, admin]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'member', otherActiveAdmins: 0 })
        .thenFails('CONFLICT', /last active admin/));

    it('does nothing when the role is already that one (even for the last admin)', () =>
      spec.given([registered, admin]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'admin', otherActiveAdmins: 0 }).then([]));

    it('refuses unknown, deactivated and erased users, and unknown roles', () => {
      spec.given([]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'admin', otherActiveAdmins: 1 }).thenFails('NOT_FOUND');
      spec.given([registered, member, deactivated]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'admin', otherActiveAdmins: 1 })
        .thenFails('CONFLICT', /deactivated/);
      spec.given([registered, member, erased]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'admin', otherActiveAdmins: 1 }).thenFails('NOT_FOUND');
      spec.given([registered, member]).when({ type: 'ChangeUserRole', userId: 'u1', role: 'root' as 'admin', otherActiveAdmins: 1 })
        .thenFails('BAD_USER_INPUT', /role/);
    });
  });

  describe('ReactivateUser', () => {
    it('reactivates a deactivated user', () =>
      spec.given([registered, deactivated]).when({ type: 'ReactivateUser', userId: 'u1' })
        .then([{ type: 'UserReactivated', data: { userId: 'u1' } }]));

    it('does nothing for an active user', () =>
      spec.given([registered]).when({ type: 'ReactivateUser', userId: 'u1' }).then([]));

    it('refuses an erased user and an unknown one', () => {
      spec.given([registered, deactivated, erased]).when({ type: 'ReactivateUser', userId: 'u1' }).thenFails('CONFLICT', /erased/);
      spec.given([]).when({ type: 'ReactivateUser', userId: 'u1' }).thenFails('NOT_FOUND');
    });

    it('a reactivated user can be deactivated again', () =>
      spec.given([registered, deactivated, { type: 'UserReactivated', data: { userId: 'u1' } }]).when({ type: 'DeactivateUser', userId: 'u1' })
        .then([deactivated]));
  });

  describe('IssuePasswordReset', () => {
    it('records the hash of the token and its expiry', () =>
      spec.given([registered]).when({ type: 'IssuePasswordReset', userId: 'u1', resetId: 'r1', tokenHash: TOKEN, expiresAt: '2030-01-01T01:00:00.000Z' })
        .then([issued]));

    it('refuses a token that is not a hash, a bad expiry, and users who cannot log in', () => {
      spec.given([registered]).when({ type: 'IssuePasswordReset', userId: 'u1', resetId: 'r1', tokenHash: 'secret', expiresAt: '2030-01-01T01:00:00.000Z' })
        .thenFails('BAD_USER_INPUT', /sha256/);
      spec.given([registered]).when({ type: 'IssuePasswordReset', userId: 'u1', resetId: 'r1', tokenHash: TOKEN, expiresAt: 'soon' })
        .thenFails('BAD_USER_INPUT', /ISO/);
      spec.given([registered, deactivated]).when({ type: 'IssuePasswordReset', userId: 'u1', resetId: 'r1', tokenHash: TOKEN, expiresAt: '2030-01-01T01:00:00.000Z' })
        .thenFails('CONFLICT');
      spec.given([]).when({ type: 'IssuePasswordReset', userId: 'u1', resetId: 'r1', tokenHash: TOKEN, expiresAt: '2030-01-01T01:00:00.000Z' })
        .thenFails('NOT_FOUND');
    });
  });

  describe('ResetPassword', () => {
    const reset = (over: Partial<{ tokenHash: string; now: string; passwordHash: string }> = {}) =>
      ({ type: 'ResetPassword' as const, userId: 'u1', tokenHash: TOKEN, passwordHash: HASH, now: BEFORE_EXPIRY, ...over });

    it('uses the token once and sets the password', () =>
      spec.given([registered, issued]).when(reset()).then([
        { type: 'PasswordResetCompleted', data: { userId: 'u1', resetId: 'r1' } },
        { type: 'UserPasswordSet', data: { userId: 'u1', passwordHash: HASH } },
      ]));

    it('refuses a used token', () =>
      spec.given([registered, issued, { type: 'PasswordResetCompleted', data: { userId: 'u1', resetId: 'r1' } }]).when(reset())
        .thenFails('RESET_TOKEN_INVALID'));

    it('refuses a wrong token, an expired one and a superseded one', () => {
      spec.given([registered, issued]).when(reset({ tokenHash: 'c'.repeat(64) })).thenFails('RESET_TOKEN_INVALID');
      spec.given([registered, issued]).when(reset({ now: '2030-01-01T01:00:00.000Z' })).thenFails('RESET_TOKEN_INVALID');
      const newer: UserEvent = { type: 'PasswordResetIssued', data: { userId: 'u1', resetId: 'r2', tokenHash: 'd'.repeat(64), expiresAt: '2030-01-01T01:00:00.000Z' } };
      spec.given([registered, issued, newer]).when(reset()).thenFails('RESET_TOKEN_INVALID');
    });

    it('refuses when no reset was issued, or the user was deactivated (or erased) since', () => {
      spec.given([registered]).when(reset()).thenFails('RESET_TOKEN_INVALID');
      spec.given([registered, issued, deactivated]).when(reset()).thenFails('RESET_TOKEN_INVALID');
      spec.given([registered, issued, deactivated, { type: 'UserReactivated', data: { userId: 'u1' } }]).when(reset()).thenFails('RESET_TOKEN_INVALID');
      spec.given([registered, issued, erased]).when(reset()).thenFails('RESET_TOKEN_INVALID');
    });

    it('refuses a plain password and a bad clock', () => {
      spec.given([registered, issued]).when(reset({ passwordHash: 'hunter2' })).thenFails('BAD_USER_INPUT', /argon2id/);
      spec.given([registered, issued]).when(reset({ now: 'now' })).thenFails('BAD_USER_INPUT');
    });
  });
});
