import { describe, it } from 'vitest';
import { firstAdminDecider } from '../../../src/domain/account/first-admin.ts';
import { sessionDecider } from '../../../src/domain/account/session.ts';
import { userDecider, type UserEvent } from '../../../src/domain/user/user.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';
const TOKEN_HASH = 'a'.repeat(64);

describe('RegisterAccount and passwords (User decider)', () => {
  const spec = deciderSpec(userDecider);
  const registered: UserEvent = { type: 'UserRegistered', data: { userId: 'u1', email: 'ada@example.com', displayName: 'Ada' } };

  it('registers, sets the password and assigns the role in one decision', () =>
    spec.given([]).when({ type: 'RegisterAccount', userId: 'u1', email: 'Ada@example.com', displayName: 'Ada', passwordHash: HASH, role: 'admin' })
      .then([
        registered,
        { type: 'UserPasswordSet', data: { userId: 'u1', passwordHash: HASH } },
        { type: 'UserRoleAssigned', data: { userId: 'u1', role: 'admin' } },
      ]));

  it('refuses a plain password where a hash belongs', () =>
    spec.given([]).when({ type: 'RegisterAccount', userId: 'u1', email: 'a@example.com', displayName: 'A', passwordHash: 'hunter2', role: 'member' })
      .thenFails('BAD_USER_INPUT', /argon2id/));

  it('sets a new password for an active user, not for a deactivated one', () => {
    spec.given([registered]).when({ type: 'SetUserPassword', userId: 'u1', passwordHash: HASH })
      .then([{ type: 'UserPasswordSet', data: { userId: 'u1', passwordHash: HASH } }]);
    spec.given([registered, { type: 'UserDeactivated', data: { userId: 'u1', reason: null } }])
      .when({ type: 'SetUserPassword', userId: 'u1', passwordHash: HASH }).thenFails('CONFLICT');
    spec.given([]).when({ type: 'SetUserPassword', userId: 'u1', passwordHash: HASH }).thenFails('NOT_FOUND');
  });
});

describe('Session decider', () => {
  const spec = deciderSpec(sessionDecider);
  const started = {
    type: 'SessionStarted' as const,
    data: { sessionId: 's1', userId: 'u1', tokenHash: TOKEN_HASH, expiresAt: '2030-01-01T00:00:00.000Z', clientAddress: null, userAgent: null },
  };

  it('starts a session with a token hash', () =>
    spec.given([]).when({ type: 'StartSession', sessionId: 's1', userId: 'u1', tokenHash: TOKEN_HASH, expiresAt: '2030-01-01T00:00:00.000Z' })
      .then([started]));

  it('refuses something that is not a sha256 digest', () =>
    spec.given([]).when({ type: 'StartSession', sessionId: 's1', userId: 'u1', tokenHash: 'raw-token', expiresAt: 'x' })
      .thenFails('BAD_USER_INPUT'));

  it('the owner ends it once; ending again does nothing', () => {
    spec.given([started]).when({ type: 'EndSession', sessionId: 's1', actorId: 'u1' })
      .then([{ type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }]);
    spec.given([started, { type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }])
      .when({ type: 'EndSession', sessionId: 's1', actorId: 'u1' }).then([]);
  });

  it('someone else cannot end it', () =>
    spec.given([started]).when({ type: 'EndSession', sessionId: 's1', actorId: 'u2' }).thenFails('NOT_FOUND'));

  it('records where it was started from, on one bounded line; blank is unknown', () =>
    spec.given([]).when({
      type: 'StartSession', sessionId: 's1', userId: 'u1', tokenHash: TOKEN_HASH, expiresAt: '2030-01-01T00:00:00.000Z',
      clientAddress: ' 203.0.113.9 ', userAgent: `Agent\n${'x'.repeat(600)}`,
    }).then([{ ...started, data: { ...started.data, clientAddress: '203.0.113.9', userAgent: `Agent ${'x'.repeat(494)}` } }]));

  it('expires once its time has passed, unless it already ended', () => {
    const expired = { type: 'SessionExpired' as const, data: { sessionId: 's1', userId: 'u1', expiresAt: '2030-01-01T00:00:00.000Z' } };
    spec.given([started]).when({ type: 'ExpireSession', sessionId: 's1', now: '2029-12-31T23:59:59.999Z' }).then([]);
    spec.given([started]).when({ type: 'ExpireSession', sessionId: 's1', now: '2030-01-01T00:00:00.000Z' }).then([expired]);
    spec.given([started, expired]).when({ type: 'ExpireSession', sessionId: 's1', now: '2031-01-01T00:00:00.000Z' }).then([]);
    spec.given([started, { type: 'SessionEnded', data: { sessionId: 's1', userId: 'u1', reason: 'logout' } }])
      .when({ type: 'ExpireSession', sessionId: 's1', now: '2031-01-01T00:00:00.000Z' }).then([]);
    spec.given([]).when({ type: 'ExpireSession', sessionId: 's1', now: '2031-01-01T00:00:00.000Z' }).thenFails('NOT_FOUND');
  });
});

describe('First admin', () => {
  const spec = deciderSpec(firstAdminDecider);
  it('the first claim wins; later ones record nothing', () => {
    spec.given([]).when({ type: 'ClaimFirstAdmin', userId: 'u1' }).then([{ type: 'FirstAdminClaimed', data: { userId: 'u1' } }]);
    spec.given([{ type: 'FirstAdminClaimed', data: { userId: 'u1' } }]).when({ type: 'ClaimFirstAdmin', userId: 'u2' }).then([]);
  });
});
