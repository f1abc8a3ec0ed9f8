import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/decider.ts';
import { refusal as refuse } from '../../support/refusal.ts';
import { MAX_DISPLAY_NAME_LENGTH, MAX_EMAIL_LENGTH, MAX_REASON_LENGTH, userDecider, type UserEvent } from '../../../src/domain/user/user.ts';

// The user limits pinned exactly: the limit is accepted, one character more is refused naming it.

const fresh = () => userDecider.initialState();
const registered: UserEvent = { type: 'UserRegistered', data: { userId: 'u1', email: 'a@example.com', displayName: 'Ada' } };
const active = () => userDecider.evolve(fresh(), registered);

/** An address of exactly `length` characters. */
const emailOf = (length: number) => `${'a'.repeat(length - '@example.com'.length)}@example.com`;

const refusal = (run: () => unknown) => refuse(run, DomainError);

describe('user length limits', () => {
  it(`email: ${MAX_EMAIL_LENGTH} characters register, ${MAX_EMAIL_LENGTH + 1} are refused`, () => {
    const [event] = userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: emailOf(MAX_EMAIL_LENGTH), displayName: 'Ada' }, fresh());
    expect(event).toMatchObject({ type: 'UserRegistered', data: { email: emailOf(MAX_EMAIL_LENGTH) } });
    const error = refusal(() => userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: emailOf(MAX_EMAIL_LENGTH + 1), displayName: 'Ada' }, fresh()));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(String(MAX_EMAIL_LENGTH));
  });

  it(`email change: ${MAX_EMAIL_LENGTH} characters are taken, ${MAX_EMAIL_LENGTH + 1} are refused`, () => {
    expect(userDecider.decide({ type: 'ChangeUserEmail', userId: 'u1', email: emailOf(MAX_EMAIL_LENGTH) }, active()))
      .toEqual([{ type: 'UserEmailChanged', data: { userId: 'u1', email: emailOf(MAX_EMAIL_LENGTH) } }]);
    expect(refusal(() => userDecider.decide({ type: 'ChangeUserEmail', userId: 'u1', email: emailOf(MAX_EMAIL_LENGTH + 1) }, active())).code)
      .toBe('BAD_USER_INPUT');
  });

  it('an email needs something before the @, a dot in the domain, and nothing around it', () => {
    for (const email of ['@example.com', 'a@example', 'a b@example.com', 'a@exa mple.com', 'a@@example.com']) {
      expect(refusal(() => userDecider.decide({ type: 'RegisterUser', userId: 'u1', email, displayName: 'Ada' }, fresh())).message, email)
        .toMatch(/not a valid address/);
    }
    // Anchored at both ends: a valid address inside a longer string is not one.
    expect(refusal(() => userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: 'x@y a@example.com', displayName: 'Ada' }, fresh())).code)
      .toBe('BAD_USER_INPUT');
    expect(refusal(() => userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com x@y', displayName: 'Ada' }, fresh())).code)
      .toBe('BAD_USER_INPUT');
  });

  it(`display name: ${MAX_DISPLAY_NAME_LENGTH} characters register, ${MAX_DISPLAY_NAME_LENGTH + 1} are refused`, () => {
    const name = 'n'.repeat(MAX_DISPLAY_NAME_LENGTH);
    expect(userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com', displayName: name }, fresh())[0])
      .toMatchObject({ data: { displayName: name } });
    const error = refusal(() => userDecider.decide({ type: 'RegisterUser', userId: 'u1', email: 'a@example.com', displayName: `${name}n` }, fresh()));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(String(MAX_DISPLAY_NAME_LENGTH));
  });

  it(`deactivation reason: ${MAX_REASON_LENGTH} characters are kept, ${MAX_REASON_LENGTH + 1} are refused`, () => {
    const reason = 'r'.repeat(MAX_REASON_LENGTH);
    expect(userDecider.decide({ type: 'DeactivateUser', userId: 'u1', reason }, active()))
      .toEqual([{ type: 'UserDeactivated', data: { userId: 'u1', reason } }]);
    const error = refusal(() => userDecider.decide({ type: 'DeactivateUser', userId: 'u1', reason: `${reason}r` }, active()));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(String(MAX_REASON_LENGTH));
    expect(userDecider.decide({ type: 'DeactivateUser', userId: 'u1', reason: '  ' }, active()))
      .toEqual([{ type: 'UserDeactivated', data: { userId: 'u1', reason: null } }]);
    expect(userDecider.decide({ type: 'DeactivateUser', userId: 'u1' }, active()))
      .toEqual([{ type: 'UserDeactivated', data: { userId: 'u1', reason: null } }]);
  });
});
