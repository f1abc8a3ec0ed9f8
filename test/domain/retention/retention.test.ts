import { describe, expect, it } from 'vitest';
import { conversationDecider, type ConversationEvent } from '../../../src/domain/conversation/conversation.ts';
import { documentDecider, type DocumentEvent } from '../../../src/domain/document/document.ts';
import { DomainError } from '../../../src/domain/decider.ts';
import {
  expireLoginRecords, expiryCutoff, expiryDue, KEEP_FOREVER, legalHoldDecider, MAX_EXPIRED_SESSIONS, MAX_HOLD_REASON_LENGTH, MAX_RETENTION_DAYS,
  refuseErasureUnderHold, retentionPolicyDecider, type LegalHoldEvent, type LegalHoldState, type RetentionPolicyEvent,
} from '../../../src/domain/retention/retention.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

describe('retention policy', () => {
  const spec = deciderSpec(retentionPolicyDecider);
  const set = (policy: Partial<typeof KEEP_FOREVER>): RetentionPolicyEvent =>
    ({ type: 'RetentionPolicySet', data: { policy: { ...KEEP_FOREVER, ...policy } } });

  it('keeps everything forever until an admin sets a duration', () => {
    expect(retentionPolicyDecider.initialState().policy).toEqual(KEEP_FOREVER);
    spec.given([]).when({ type: 'SetRetentionPolicy', changes: { conversations: 30 } }).then([set({ conversations: 30 })]);
  });

  it('changes only the kinds given, and records the whole policy', () => {
    spec.given([set({ conversations: 30, loginRecords: 90 })])
      .when({ type: 'SetRetentionPolicy', changes: { documents: 365, loginRecords: null } })
      .then([set({ conversations: 30, documents: 365 })]);
  });

  it('records nothing when nothing changes', () => {
    spec.given([set({ conversations: 30 })]).when({ type: 'SetRetentionPolicy', changes: { conversations: 30 } }).then([]);
    spec.given([]).when({ type: 'SetRetentionPolicy', changes: {} }).then([]);
  });

  it('refuses durations out of bounds, fractions, non-numbers and unknown kinds', () => {
    for (const days of [0, -1, 1.5, MAX_RETENTION_DAYS + 1, Number.NaN, Number.POSITIVE_INFINITY, '30', true, {}]) {
      spec.given([]).when({ type: 'SetRetentionPolicy', changes: { conversations: days as number } }).thenFails('BAD_USER_INPUT');
    }
    spec.given([]).when({ type: 'SetRetentionPolicy', changes: { passwords: 3 } as never }).thenFails('BAD_USER_INPUT', /Unknown kind/);
    spec.given([]).when({ type: 'SetRetentionPolicy', changes: null as never }).thenFails('BAD_USER_INPUT');
    spec.given([]).when({ type: 'SetRetentionPolicy', changes: { documents: MAX_RETENTION_DAYS } }).then([set({ documents: MAX_RETENTION_DAYS })]);
  });
});

describe('legal holds', () => {
  const spec = deciderSpec(legalHoldDecider);
  const facts = { holdId: 'h1', target: 'conversation' as const, targetId: 'c1', ownerId: 'u1' };
  const placed: LegalHoldEvent = { type: 'LegalHoldPlaced', data: { ...facts, reason: 'Case 42' } };

  it('places a hold with a reason, trimmed', () => {
    spec.given([]).when({ type: 'PlaceLegalHold', ...facts, reason: '  Case 42 ' }).then([placed]);
  });

  it('refuses a second hold on the same thing, and lifting where there is none', () => {
    spec.given([placed]).when({ type: 'PlaceLegalHold', ...facts, holdId: 'h2', reason: 'again' }).thenFails('CONFLICT');
    spec.given([]).when({ type: 'LiftLegalHold', target: 'conversation', targetId: 'c1', reason: 'done' }).thenFails('NOT_FOUND');
  });

  it('lifts a hold, with its own reason, and a new one can be placed afterwards', () => {
    const lifted: LegalHoldEvent = { type: 'LegalHoldLifted', data: { ...facts, reason: 'Case closed' } };
    spec.given([placed]).when({ type: 'LiftLegalHold', target: 'conversation', targetId: 'c1', reason: 'Case closed' }).then([lifted]);
    spec.given([placed, lifted]).when({ type: 'LiftLegalHold', target: 'conversation', targetId: 'c1', reason: 'x' }).thenFails('NOT_FOUND');
    spec.given([placed, lifted]).when({ type: 'PlaceLegalHold', ...facts, holdId: 'h2', reason: 'Case 43' })
      .then([{ type: 'LegalHoldPlaced', data: { ...facts, holdId: 'h2', reason: 'Case 43' } }]);
  });

  it('refuses hostile input', () => {
    for (const reason of ['', '   ', 'a\nb', 'x'.repeat(MAX_HOLD_REASON_LENGTH + 1), 42]) {
      spec.given([]).when({ type: 'PlaceLegalHold', ...facts, reason: reason as string }).thenFails('BAD_USER_INPUT');
    }
    spec.given([]).when({ type: 'PlaceLegalHold', ...facts, target: 'document' as never, reason: 'r' }).thenFails('BAD_USER_INPUT');
    spec.given([]).when({ type: 'PlaceLegalHold', ...facts, targetId: '', reason: 'r' }).thenFails('BAD_USER_INPUT');
    spec.given([]).when({ type: 'PlaceLegalHold', ...facts, targetId: 'x'.repeat(201), reason: 'r' }).thenFails('BAD_USER_INPUT');
  });

  it('erasure is refused with LEGAL_HOLD while any hold is in place', () => {
    const held: LegalHoldState = legalHoldDecider.evolve(legalHoldDecider.initialState(), placed);
    expect(() => refuseErasureUnderHold([{ status: 'none' }, held])).toThrow(DomainError);
    try {
      refuseErasureUnderHold([held]);
    } catch (error) {
      expect((error as DomainError).code).toBe('LEGAL_HOLD');
    }
    const lifted = legalHoldDecider.evolve(held, { type: 'LegalHoldLifted', data: { ...facts, reason: 'done' } });
    expect(() => refuseErasureUnderHold([{ status: 'none' }, lifted])).not.toThrow();
  });
});

describe('expiry', () => {
  const now = new Date('2026-06-30T12:00:00.000Z');

  it('is due once the last activity is older than the policy, never when kept forever or held', () => {
    expect(expiryCutoff(now, 30).toISOString()).toBe('2026-05-31T12:00:00.000Z');
    expect(expiryDue({ policyDays: 30, lastActivityAt: '2026-05-31T11:59:59.999Z', held: false, now })).toBe(true);
    expect(expiryDue({ policyDays: 30, lastActivityAt: '2026-05-31T12:00:00.000Z', held: false, now })).toBe(false);
    expect(expiryDue({ policyDays: 30, lastActivityAt: '2020-01-01T00:00:00.000Z', held: true, now })).toBe(false);
    expect(expiryDue({ policyDays: null, lastActivityAt: '2020-01-01T00:00:00.000Z', held: false, now })).toBe(false);
    expect(expiryDue({ policyDays: 30, lastActivityAt: 'not a time', held: false, now })).toBe(false);
  });

  it('login records: the sessions named, in batches of at most MAX_EXPIRED_SESSIONS, once each', () => {
    const sessions = [{ userId: 'u1', sessionId: 's1' }, { userId: 'u2', sessionId: 's2' }, { userId: 'u1', sessionId: 's1' }];
    expect(expireLoginRecords({ policyDays: null, now, sessions })).toEqual([]);
    expect(expireLoginRecords({ policyDays: 90, now, sessions: [] })).toEqual([]);
    expect(expireLoginRecords({ policyDays: 90, now, sessions })).toEqual([{
      type: 'LoginRecordsExpired',
      data: { endedBefore: '2026-04-01T12:00:00.000Z', retentionDays: 90, sessions: [{ userId: 'u1', sessionId: 's1' }, { userId: 'u2', sessionId: 's2' }] },
    }]);
    const many = Array.from({ length: MAX_EXPIRED_SESSIONS * 2 + 1 }, (_, i) => ({ userId: `u${i % 7}`, sessionId: `s${i}` }));
    const events = expireLoginRecords({ policyDays: 90, now, sessions: many });
    expect(events.map((e) => e.data.sessions.length)).toEqual([MAX_EXPIRED_SESSIONS, MAX_EXPIRED_SESSIONS, 1]);
    expect(events.flatMap((e) => e.data.sessions)).toEqual(many);
  });

  it('a conversation expires once, and is gone afterwards; not while a reply is being written', () => {
    const spec = deciderSpec(conversationDecider);
    const ids = { conversationId: 'c1', ownerId: 'u1' };
    const started: ConversationEvent = { type: 'ConversationStarted', data: { ...ids, title: 'T', model: 'm', systemPrompt: null, params: {} } };
    const expire = { type: 'ExpireConversation' as const, conversationId: 'c1', lastActivityAt: '2026-01-01T00:00:00.000Z', retentionDays: 30 };
    const expired: ConversationEvent = { type: 'ConversationExpired', data: { ...ids, lastActivityAt: expire.lastActivityAt, retentionDays: 30 } };
    spec.given([started]).when(expire).then([expired]);
    spec.given([started, expired]).when(expire).then([]);
    spec.given([]).when(expire).then([]);
    spec.given([started, expired]).when({ type: 'SendUserMessage', conversationId: 'c1', actorId: 'u1', messageId: 'm1', content: 'hi' }).thenFails('NOT_FOUND');
    const sent: ConversationEvent = { type: 'UserMessageSent', data: { ...ids, messageId: 'm1', content: 'hi' } };
    const replying: ConversationEvent = { type: 'AssistantReplyStarted', data: { ...ids, replyId: 'r1', inReplyTo: 'm1', model: 'm', params: {} } };
    spec.given([started, sent, replying]).when(expire).thenFails('CONFLICT');
  });

  it('a document expires once, and is gone afterwards', () => {
    const spec = deciderSpec(documentDecider);
    const ids = { documentId: 'd1', ownerId: 'u1' };
    const uploaded: DocumentEvent = { type: 'DocumentUploaded', data: { ...ids, name: 'a.txt', mediaType: 'text/plain', sha256: 'a'.repeat(64), size: 1, version: 1 } };
    const expire = { type: 'ExpireDocument' as const, documentId: 'd1', lastActivityAt: '2026-01-01T00:00:00.000Z', retentionDays: 7 };
    const expired: DocumentEvent = { type: 'DocumentExpired', data: { ...ids, lastActivityAt: expire.lastActivityAt, retentionDays: 7 } };
    spec.given([uploaded]).when(expire).then([expired]);
    spec.given([uploaded, expired]).when(expire).then([]);
    spec.given([uploaded, expired]).when({ type: 'RenameDocument', documentId: 'd1', actorId: 'u1', name: 'b' }).thenFails('NOT_FOUND');
  });
});
