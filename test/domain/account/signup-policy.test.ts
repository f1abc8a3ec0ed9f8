import { describe, it } from 'vitest';
import { sessionDecider } from '../../../src/domain/account/session.ts';
import { MAX_USABLE_INVITES, signupPolicyDecider, type SignupPolicyEvent } from '../../../src/domain/account/signup-policy.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(signupPolicyDecider);
const CODE = 'e'.repeat(64);
const NOW = '2030-01-01T00:00:00.000Z';
const created = (inviteId = 'i1', over: Partial<{ expiresAt: string | null; maxUses: number | null; codeHash: string }> = {}): SignupPolicyEvent =>
  ({ type: 'InviteCreated', data: { inviteId, codeHash: CODE, expiresAt: null, maxUses: null, ...over } });
const redeemed = (userId: string, inviteId = 'i1'): SignupPolicyEvent => ({ type: 'InviteRedeemed', data: { inviteId, userId } });

describe('Sign-up policy decider', () => {
  describe('SetSignupPolicy', () => {
    it('sets a mode; the default is open', () => {
      spec.given([]).when({ type: 'SetSignupPolicy', mode: 'invite_only' }).then([{ type: 'SignupPolicySet', data: { mode: 'invite_only' } }]);
      spec.given([]).when({ type: 'SetSignupPolicy', mode: 'open' }).then([]);
      spec.given([{ type: 'SignupPolicySet', data: { mode: 'closed' } }]).when({ type: 'SetSignupPolicy', mode: 'open' })
        .then([{ type: 'SignupPolicySet', data: { mode: 'open' } }]);
    });

    it('refuses an unknown mode', () =>
      spec.given([]).when({ type: 'SetSignupPolicy', mode: 'anyone' as 'open' }).thenFails('BAD_USER_INPUT'));
  });

  describe('CreateInvite', () => {
    const create = (over: Partial<{ inviteId: string; expiresAt: string | null; maxUses: number | null; codeHash: string }> = {}) =>
      ({ type: 'CreateInvite' as const, inviteId: 'i1', codeHash: CODE, expiresAt: null, maxUses: null, now: NOW, ...over });

    it('records the hash, expiry and uses', () => {
      spec.given([]).when(create()).then([created()]);
      spec.given([]).when(create({ expiresAt: '2030-01-02T00:00:00Z', maxUses: 3 }))
        .then([created('i1', { expiresAt: '2030-01-02T00:00:00.000Z', maxUses: 3 })]);
    });

    it('refuses a past expiry, bad uses, a code that is not a hash and a duplicate id', () => {
      spec.given([]).when(create({ expiresAt: NOW })).thenFails('BAD_USER_INPUT', /future/);
      spec.given([]).when(create({ expiresAt: 'tomorrow' })).thenFails('BAD_USER_INPUT', /ISO/);
      spec.given([]).when(create({ maxUses: 0 })).thenFails('BAD_USER_INPUT', /Uses/);
      spec.given([]).when(create({ maxUses: 1.5 })).thenFails('BAD_USER_INPUT', /Uses/);
      spec.given([]).when(create({ codeHash: 'plain-code' })).thenFails('BAD_USER_INPUT', /sha256/);
      spec.given([created()]).when(create()).thenFails('CONFLICT');
    });

    it(`keeps at most ${MAX_USABLE_INVITES} usable invites`, () => {
      const many = Array.from({ length: MAX_USABLE_INVITES }, (_, n) => created(`i${n}`));
      spec.given(many).when(create({ inviteId: 'new' })).thenFails('CONFLICT', /revoke/);
      spec.given([...many, { type: 'InviteRevoked', data: { inviteId: 'i0' } }]).when(create({ inviteId: 'new' })).then([created('new')]);
    });
  });

  describe('RevokeInvite', () => {
    it('revokes once; unknown is NOT_FOUND', () => {
      spec.given([created()]).when({ type: 'RevokeInvite', inviteId: 'i1' }).then([{ type: 'InviteRevoked', data: { inviteId: 'i1' } }]);
      spec.given([created(), { type: 'InviteRevoked', data: { inviteId: 'i1' } }]).when({ type: 'RevokeInvite', inviteId: 'i1' }).then([]);
      spec.given([]).when({ type: 'RevokeInvite', inviteId: 'i1' }).thenFails('NOT_FOUND');
    });
  });

  describe('RedeemInvite', () => {
    const redeem = (over: Partial<{ inviteId: string; codeHash: string; now: string }> = {}) =>
      ({ type: 'RedeemInvite' as const, inviteId: 'i1', codeHash: CODE, userId: 'u9', now: NOW, ...over });

    it('redeems a valid code', () => spec.given([created()]).when(redeem()).then([redeemed('u9')]));

    it('counts uses', () => {
      spec.given([created('i1', { maxUses: 2 }), redeemed('u1')]).when(redeem()).then([redeemed('u9')]);
      spec.given([created('i1', { maxUses: 2 }), redeemed('u1'), redeemed('u2')]).when(redeem()).thenFails('INVITE_INVALID');
    });

    it('refuses unknown, wrong, revoked and expired codes alike', () => {
      spec.given([]).when(redeem()).thenFails('INVITE_INVALID');
      spec.given([created()]).when(redeem({ codeHash: 'f'.repeat(64) })).thenFails('INVITE_INVALID');
      spec.given([created(), { type: 'InviteRevoked', data: { inviteId: 'i1' } }]).when(redeem()).thenFails('INVITE_INVALID');
      spec.given([created('i1', { expiresAt: '2030-01-01T00:00:00.000Z' })]).when(redeem()).thenFails('INVITE_INVALID');
      spec.given([created('i1', { expiresAt: '2030-01-01T00:00:00.001Z' })]).when(redeem()).then([redeemed('u9')]);
    });
  });
});

describe('Session decider: RevokeSession', () => {
  const sessions = deciderSpec(sessionDecider);
  const started = {
    type: 'SessionStarted' as const,
    data: { sessionId: 's1', userId: 'u1', tokenHash: 'a'.repeat(64), expiresAt: '2030-01-01T00:00:00.000Z', clientAddress: null, userAgent: null },
  };

  it("ends the owner's session as revoked", () =>
    sessions.given([started]).when({ type: 'RevokeSession', sessionId: 's1', userId: 'u1' })
      .then([{ type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'revoked' } }]));

  it("is NOT_FOUND for someone else's session or an unknown one", () => {
    sessions.given([started]).when({ type: 'RevokeSession', sessionId: 's1', userId: 'u2' }).thenFails('NOT_FOUND');
    sessions.given([]).when({ type: 'RevokeSession', sessionId: 's1', userId: 'u1' }).thenFails('NOT_FOUND');
  });

  it('does nothing for an ended session', () =>
    sessions.given([started, { type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }])
      .when({ type: 'RevokeSession', sessionId: 's1', userId: 'u1' }).then([]));
});
