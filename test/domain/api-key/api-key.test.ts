import { describe, it } from 'vitest';
import { apiKeyDecider, type ApiKeyEvent } from '../../../src/domain/api-key/api-key.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const HASH = 'b'.repeat(64);
const create = { type: 'CreateApiKey' as const, keyId: 'k1', ownerId: 'u1', name: '  my script ', scopes: ['chat', 'read', 'chat'], tokenHash: HASH, displayPrefix: 'evk_AbC123' };
const created: ApiKeyEvent = {
  type: 'ApiKeyCreated', data: { keyId: 'k1', ownerId: 'u1', name: 'my script', scopes: ['read', 'chat'], tokenHash: HASH, displayPrefix: 'evk_AbC123' },
};

describe('API key decider', () => {
  const spec = deciderSpec(apiKeyDecider);

  it('creates a key with its scopes deduplicated and ordered, and its name trimmed', () =>
    spec.given([]).when(create).then([created]));

  it('refuses unknown or no scopes, a blank or overlong name, a key in place of its hash, and a second creation', () => {
    spec.given([]).when({ ...create, scopes: ['read', 'root'] }).thenFails('BAD_USER_INPUT', /scope/);
    spec.given([]).when({ ...create, scopes: [] }).thenFails('BAD_USER_INPUT', /at least one scope/);
    spec.given([]).when({ ...create, name: '   ' }).thenFails('BAD_USER_INPUT', /empty/);
    spec.given([]).when({ ...create, name: 'x'.repeat(101) }).thenFails('BAD_USER_INPUT', /at most/);
    spec.given([]).when({ ...create, name: 'a\u0000b' }).thenFails('BAD_USER_INPUT');
    spec.given([]).when({ ...create, tokenHash: 'evk_secret' }).thenFails('BAD_USER_INPUT', /sha256/);
    spec.given([]).when({ ...create, displayPrefix: 'evd_AbC123' }).thenFails('BAD_USER_INPUT');
    spec.given([created]).when(create).thenFails('CONFLICT');
  });

  it('lets the owner revoke their key once; a second revocation records nothing', () => {
    spec.given([created]).when({ type: 'RevokeApiKey', keyId: 'k1', actorId: 'u1' })
      .then([{ type: 'ApiKeyRevoked', data: { keyId: 'k1', ownerId: 'u1', reason: 'owner' } }]);
    spec.given([created, { type: 'ApiKeyRevoked', data: { keyId: 'k1', ownerId: 'u1', reason: 'owner' } }])
      .when({ type: 'RevokeApiKey', keyId: 'k1', actorId: 'u1' }).then([]);
  });

  it('hides someone else\'s key as NOT_FOUND, unless an admin revokes it', () => {
    spec.given([created]).when({ type: 'RevokeApiKey', keyId: 'k1', actorId: 'u2' }).thenFails('NOT_FOUND');
    spec.given([]).when({ type: 'RevokeApiKey', keyId: 'k1', actorId: 'u1' }).thenFails('NOT_FOUND');
    spec.given([created]).when({ type: 'RevokeApiKey', keyId: 'k1', actorId: 'admin', byAdmin: true })
      .then([{ type: 'ApiKeyRevoked', data: { keyId: 'k1', ownerId: 'u1', reason: 'admin' } }]);
  });
});
