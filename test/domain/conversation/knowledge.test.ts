import { describe, expect, it } from 'vitest';
import {
  conversationDecider, MAX_ATTACHED_DOCUMENTS, MAX_ATTACHED_KNOWLEDGE_BASES, MAX_REPLY_SOURCES,
  type ConversationCommand, type ConversationEvent, type ReplySource,
} from '../../../src/domain/conversation/conversation.ts';
import { DomainError } from '../../../src/domain/decider.ts';
import { currentSchemaVersions, domainUpcasting } from '../../../src/domain/event-versions.ts';
import { deciderSpec } from '../../support/decider-spec.ts';
import { refusal as refuse } from '../../support/refusal.ts';

const spec = deciderSpec(conversationDecider);
const ids = { conversationId: 'c1', ownerId: 'u1' };
const fold = (events: ConversationEvent[]) => events.reduce(conversationDecider.evolve, conversationDecider.initialState());
const refusal = (run: () => unknown) => refuse(run, DomainError);

const started: ConversationEvent = { type: 'ConversationStarted', data: { ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: null, params: {} } };
const attached = (knowledgeBaseIds: string[], documentIds: string[]): ConversationEvent =>
  ({ type: 'ConversationKnowledgeAttached', data: { ...ids, knowledgeBaseIds, documentIds } });
const setKnowledge = (knowledgeBaseIds: readonly unknown[], documentIds: readonly unknown[], actorId = 'u1'): ConversationCommand =>
  ({ type: 'SetConversationKnowledge', conversationId: 'c1', actorId, knowledgeBaseIds, documentIds }) as ConversationCommand;

describe('SetConversationKnowledge', () => {
  it('attaches knowledge bases and documents as the whole new selection', () => {
    spec.given([started]).when(setKnowledge(['k1', 'k2'], ['d1'])).then([attached(['k1', 'k2'], ['d1'])]);
    spec.given([started, attached(['k1'], ['d1'])]).when(setKnowledge(['k2'], [])).then([attached(['k2'], [])]);
  });

  it('detaches everything with two empty lists', () =>
    spec.given([started, attached(['k1'], ['d1'])]).when(setKnowledge([], [])).then([attached([], [])]));

  it('drops duplicates, keeping the first occurrence', () =>
    spec.given([started]).when(setKnowledge(['k2', 'k1', 'k2'], ['d1', 'd1'])).then([attached(['k2', 'k1'], ['d1'])]));

  it('is a no-op for the same selection, in any order', () => {
    spec.given([started, attached(['k1', 'k2'], ['d1'])]).when(setKnowledge(['k2', 'k1'], ['d1'])).then([]);
    spec.given([started]).when(setKnowledge([], [])).then([]);
  });

  it('is allowed on an archived conversation (it changes no history)', () =>
    spec.given([started, { type: 'ConversationArchived', data: ids }]).when(setKnowledge(['k1'], [])).then([attached(['k1'], [])]));

  it('keeps the selection in the state for the reply reactor', () => {
    expect(fold([started]).knowledge).toEqual({ knowledgeBaseIds: [], documentIds: [] });
    expect(fold([started, attached(['k1'], ['d1', 'd2'])]).knowledge).toEqual({ knowledgeBaseIds: ['k1'], documentIds: ['d1', 'd2'] });
  });

  it('is NOT_FOUND for a stranger, a missing and a deleted conversation', () => {
    spec.given([started]).when(setKnowledge(['k1'], [], 'u2')).thenFails('NOT_FOUND', /Conversation not found/);
    spec.given([]).when(setKnowledge(['k1'], [])).thenFails('NOT_FOUND');
    spec.given([started, { type: 'ConversationDeleted', data: ids }]).when(setKnowledge(['k1'], [])).thenFails('NOT_FOUND');
  });

  it('refuses ids that are not non-empty single-line strings, and lists that are not lists', () => {
    for (const bad of ['', 'a\nb', 'a\u0000', 7, null]) {
      spec.given([started]).when(setKnowledge([bad], [])).thenFails('BAD_USER_INPUT', /Knowledge base ids/);
      spec.given([started]).when(setKnowledge([], [bad])).thenFails('BAD_USER_INPUT', /Document ids/);
    }
    spec.given([started]).when(setKnowledge('k1' as never, [])).thenFails('BAD_USER_INPUT', /must be a list/);
  });

  describe('limits', () => {
    const many = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);
    for (const { name, limit, command } of [
      { name: 'knowledge bases', limit: MAX_ATTACHED_KNOWLEDGE_BASES, command: (n: number) => setKnowledge(many('k', n), []) },
      { name: 'documents', limit: MAX_ATTACHED_DOCUMENTS, command: (n: number) => setKnowledge([], many('d', n)) },
    ]) {
      it(`accepts ${limit} ${name} and refuses ${limit + 1} with the limit in the message`, () => {
        expect(conversationDecider.decide(command(limit), fold([started]))).toHaveLength(1);
        const error = refusal(() => conversationDecider.decide(command(limit + 1), fold([started])));
        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.message).toContain(String(limit));
      });
    }

    it('counts distinct ids: duplicates do not count against the limit', () =>
      expect(conversationDecider.decide(setKnowledge([...many('k', MAX_ATTACHED_KNOWLEDGE_BASES), 'k0', 'k1'], []), fold([started]))).toHaveLength(1));
  });
});

describe('sources on a completed reply', () => {
  const streaming = [
    started,
    { type: 'UserMessageSent', data: { ...ids, messageId: 'm1', content: 'What is in the report?' } },
    { type: 'AssistantReplyStarted', data: { ...ids, replyId: 'r1', inReplyTo: 'm1', model: 'gpt-4o', params: {} } },
  ] as ConversationEvent[];
  const source = (n: number, overrides: Partial<ReplySource> = {}): ReplySource =>
    ({ n, documentId: 'd1', version: 2, chunkId: `d1:2:${n}`, page: n, score: 0.5 / n, ...overrides });
  const complete = (sources: unknown): ConversationCommand =>
    ({ type: 'CompleteAssistantReply', conversationId: 'c1', replyId: 'r1', text: 'It says so [1].', usage: null, timeToFirstTokenMs: null,
      latencyMs: 10, finishReason: 'stop', sources }) as ConversationCommand;
  const recorded = (command: ConversationCommand) =>
    (conversationDecider.decide(command, fold(streaming))[0] as Extract<ConversationEvent, { type: 'AssistantReplyCompleted' }>).data.sources;

  it('records the sources with document version, chunk, page and score', () => {
    expect(recorded(complete([source(1), source(2, { page: null, version: 1, score: -0.25 })])))
      .toEqual([source(1), source(2, { page: null, version: 1, score: -0.25 })]);
  });

  it('records no sources when none are given', () => {
    expect(recorded(complete(undefined))).toEqual([]);
    expect(recorded(complete(null))).toEqual([]);
    expect(recorded(complete([]))).toEqual([]);
  });

  it('records a source without a page as page null', () =>
    expect(recorded(complete([{ n: 1, documentId: 'd1', version: 1, chunkId: 'c', score: 1 }]))[0]!.page).toBeNull());

  it('refuses malformed sources (they come from retrieval: a bug, not something to record)', () => {
    for (const [bad, message] of [
      ['x', /must be a list/], [[null], /must be an object/],
      [[source(0)], /n must be an integer/], [[source(1.5)], /n must be an integer/], [[source(1), source(1)], /used twice/],
      [[source(1, { version: 0 })], /version/], [[source(1, { page: 0 })], /page/], [[source(1, { page: 1.5 })], /page/],
      [[source(1, { score: Number.NaN })], /score/], [[source(1, { score: Number.POSITIVE_INFINITY })], /score/],
      [[source(1, { documentId: '' })], /document id/], [[source(1, { chunkId: 'a\nb' })], /chunk id/],
    ] as Array<[unknown, RegExp]>) {
      spec.given(streaming).when(complete(bad)).thenFails('BAD_USER_INPUT', message);
    }
  });

  it(`records ${MAX_REPLY_SOURCES} sources and refuses ${MAX_REPLY_SOURCES + 1} with the limit in the message`, () => {
    const sources = (count: number) => Array.from({ length: count }, (_, i) => source(i + 1));
    expect(recorded(complete(sources(MAX_REPLY_SOURCES)))).toHaveLength(MAX_REPLY_SOURCES);
    const error = refusal(() => conversationDecider.decide(complete(sources(MAX_REPLY_SOURCES + 1)), fold(streaming)));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain(String(MAX_REPLY_SOURCES));
  });
});

describe('AssistantReplyCompleted versions', () => {
  it('is at version 3, and ConversationKnowledgeAttached at 1', () => {
    expect(conversationDecider.schemaVersions.AssistantReplyCompleted).toBe(3);
    expect(currentSchemaVersions.AssistantReplyCompleted).toBe(3);
    expect(currentSchemaVersions.ConversationKnowledgeAttached).toBe(1);
  });

  it('reads a version-1 event (written before sources existed) as one that used no sources', () => {
    const v1 = {
      type: 'AssistantReplyCompleted', schemaVersion: 1, id: 'e1',
      data: { ...ids, replyId: 'r1', text: 'Hi', model: 'gpt-4o', params: {}, usage: null, timeToFirstTokenMs: null, latencyMs: 5, finishReason: 'stop' },
    };
    expect(domainUpcasting.upcast(v1)).toEqual({ ...v1, schemaVersion: 3, data: { ...v1.data, sources: [], provenance: null } });
    expect(v1.data).not.toHaveProperty('sources'); // the stored event itself is left alone
  });

  it('reads a version-2 event (written before provenance existed) with null provenance', () => {
    const v2 = { type: 'AssistantReplyCompleted', schemaVersion: 2, data: { ...ids, replyId: 'r1', sources: [{ n: 1 }] } };
    expect(domainUpcasting.upcast(v2)).toEqual({ ...v2, schemaVersion: 3, data: { ...v2.data, provenance: null } });
  });

  it('leaves a version-3 event as it is', () => {
    const v3 = { type: 'AssistantReplyCompleted', schemaVersion: 3, data: { ...ids, replyId: 'r1', sources: [], provenance: null } };
    expect(domainUpcasting.upcast(v3)).toBe(v3);
  });
});
