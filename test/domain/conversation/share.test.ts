import { describe, expect, it } from 'vitest';
import { MAX_SHARE_DAYS, shareDecider, shareStream, type ShareCommand, type ShareEvent } from '../../../src/domain/conversation/share.ts';
import { currentSchemaVersions } from '../../../src/domain/event-versions.ts';
import { personalDataRules } from '../../../src/domain/personal-data.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(shareDecider);
const HASH = 'a'.repeat(64);
const NOW = '2026-01-01T00:00:00.000Z';
const share = (overrides: Partial<Extract<ShareCommand, { type: 'ShareConversation' }>> = {}): ShareCommand => ({
  type: 'ShareConversation', shareId: 's1', conversationId: 'c1', ownerId: 'u1', tokenHash: HASH, conversationRevision: 4,
  expiresAt: null, now: NOW, ...overrides,
});
const shared: ShareEvent = {
  type: 'ConversationShared', data: { shareId: 's1', conversationId: 'c1', ownerId: 'u1', tokenHash: HASH, conversationRevision: 4, expiresAt: null },
};
const revoked: ShareEvent = { type: 'ConversationShareRevoked', data: { shareId: 's1', conversationId: 'c1', ownerId: 'u1' } };

describe('share decider', () => {
  it('records a share with the token hash and the conversation revision of the snapshot', () => {
    spec.given([]).when(share()).then([shared]);
  });

  it('keeps an expiry time in the future, normalised', () => {
    spec.given([]).when(share({ expiresAt: '2026-01-02T00:00:00Z' }))
      .then([{ ...shared, data: { ...shared.data, expiresAt: '2026-01-02T00:00:00.000Z' } } as ShareEvent]);
  });

  it('refuses an expiry in the past, now, too far ahead, or not a date', () => {
    spec.given([]).when(share({ expiresAt: '2025-12-31T23:59:59Z' })).thenFails('BAD_USER_INPUT', /future/);
    spec.given([]).when(share({ expiresAt: NOW })).thenFails('BAD_USER_INPUT', /future/);
    spec.given([]).when(share({ expiresAt: new Date(Date.parse(NOW) + (MAX_SHARE_DAYS + 1) * 86_400_000).toISOString() }))
      .thenFails('BAD_USER_INPUT', /days ahead/);
    spec.given([]).when(share({ expiresAt: 'tomorrow' })).thenFails('BAD_USER_INPUT', /ISO/);
  });

  it('refuses a token that is not a sha256 digest (the token itself must never be recorded)', () => {
    spec.given([]).when(share({ tokenHash: 'evs_plain-token' })).thenFails('BAD_USER_INPUT', /sha256/);
  });

  it('refuses a bad revision and a share id used twice', () => {
    spec.given([]).when(share({ conversationRevision: -1 })).thenFails('BAD_USER_INPUT');
    spec.given([shared]).when(share()).thenFails('CONFLICT');
  });

  it('lets the owner revoke, once; a second revoke records nothing', () => {
    spec.given([shared]).when({ type: 'RevokeShare', shareId: 's1', actorId: 'u1' }).then([revoked]);
    spec.given([shared, revoked]).when({ type: 'RevokeShare', shareId: 's1', actorId: 'u1' }).then([]);
  });

  it('answers NOT_FOUND to anyone else revoking, as for an unknown share', () => {
    spec.given([shared]).when({ type: 'RevokeShare', shareId: 's1', actorId: 'u2' }).thenFails('NOT_FOUND');
    spec.given([]).when({ type: 'RevokeShare', shareId: 's1', actorId: 'u1' }).thenFails('NOT_FOUND');
  });

  it('is registered: versions known, no personal fields, its own stream', () => {
    expect(currentSchemaVersions.ConversationShared).toBe(1);
    expect(currentSchemaVersions.ConversationShareRevoked).toBe(1);
    expect(personalDataRules.ConversationShared).toBeUndefined();
    expect(shareStream('s1')).toBe('conversation-share-s1');
  });
});
