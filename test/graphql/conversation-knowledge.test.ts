import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentCommands } from '../../src/commands/documents.ts';
import { createKnowledgeBaseCommands } from '../../src/commands/knowledge-bases.ts';
import { MAX_ATTACHED_DOCUMENTS, MAX_ATTACHED_KNOWLEDGE_BASES } from '../../src/domain/conversation/conversation.ts';
import { fails, newUser, ok, startConversation, startTestApp, type TestApp, type TestUser } from './support.ts';

const SET_KNOWLEDGE = `mutation Set($conversationId: ID!, $knowledgeBaseIds: [ID!]!, $documentIds: [ID!]!) {
  setConversationKnowledge(conversationId: $conversationId, knowledgeBaseIds: $knowledgeBaseIds, documentIds: $documentIds) {
    id knowledgeBaseIds documentIds
  }
}`;
const KNOWLEDGE = 'query K($id: ID!) { conversation(id: $id) { knowledgeBaseIds documentIds } }';

describe('GraphQL setConversationKnowledge', () => {
  let t: TestApp;
  let owner: TestUser;
  let other: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    owner = await newUser(t.yoga);
    other = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function documentOf(user: TestUser) {
    return (await createDocumentCommands({ store: t.app.store }).uploadDocument(
      { ownerId: user.userId, name: 'Doc.pdf', mediaType: 'application/pdf', sha256: 'c'.repeat(64), size: 1 },
      t.app.commandContext(user.userId))).documentId;
  }
  async function baseOf(user: TestUser) {
    return (await createKnowledgeBaseCommands({ store: t.app.store }).createKnowledgeBase(
      { ownerId: user.userId, name: 'Base' }, t.app.commandContext(user.userId))).knowledgeBaseId;
  }

  it('attaches, replaces and detaches the whole selection; the conversation shows it (none by default)', async () => {
    const conversation = await startConversation(t.yoga, owner.token);
    expect((await ok<{ conversation: unknown }>(t.yoga, KNOWLEDGE, { id: conversation.id }, owner.token)).conversation)
      .toEqual({ knowledgeBaseIds: [], documentIds: [] });
    const [base, doc1, doc2] = [await baseOf(owner), await documentOf(owner), await documentOf(owner)];

    const set = async (knowledgeBaseIds: string[], documentIds: string[]) => (await ok<{ setConversationKnowledge: unknown }>(
      t.yoga, SET_KNOWLEDGE, { conversationId: conversation.id, knowledgeBaseIds, documentIds }, owner.token)).setConversationKnowledge;
    expect(await set([base], [doc1, doc2, doc1])).toEqual({ id: conversation.id, knowledgeBaseIds: [base], documentIds: [doc1, doc2] });
    expect(await set([], [doc2])).toEqual({ id: conversation.id, knowledgeBaseIds: [], documentIds: [doc2] });
    expect((await ok<{ conversation: unknown }>(t.yoga, KNOWLEDGE, { id: conversation.id }, owner.token)).conversation)
      .toEqual({ knowledgeBaseIds: [], documentIds: [doc2] });
    expect(await set([], [])).toEqual({ id: conversation.id, knowledgeBaseIds: [], documentIds: [] });
  });

  it("answers NOT_FOUND for someone else's conversation, base or document, and records nothing", async () => {
    const mine = await startConversation(t.yoga, owner.token);
    const theirs = await startConversation(t.yoga, other.token);
    const [theirBase, theirDoc, myDoc] = [await baseOf(other), await documentOf(other), await documentOf(owner)];
    const attempts: Array<[string, string[], string[]]> = [
      [theirs.id, [], [myDoc]],
      [mine.id, [theirBase], []],
      [mine.id, [], [myDoc, theirDoc]],
      [mine.id, [], ['01a215be-0000-7000-8000-000000000000']],
      ['01a215be-0000-7000-8000-000000000001', [], []],
    ];
    for (const [conversationId, knowledgeBaseIds, documentIds] of attempts) {
      const error = await fails(t.yoga, SET_KNOWLEDGE, { conversationId, knowledgeBaseIds, documentIds }, owner.token);
      expect(error.code, JSON.stringify({ conversationId, knowledgeBaseIds, documentIds })).toBe('NOT_FOUND');
    }
    expect((await ok<{ conversation: unknown }>(t.yoga, KNOWLEDGE, { id: mine.id }, owner.token)).conversation)
      .toEqual({ knowledgeBaseIds: [], documentIds: [] });
  });

  it('refuses lists over their limits with BAD_USER_INPUT, and anonymous callers with UNAUTHENTICATED', async () => {
    const conversation = await startConversation(t.yoga, owner.token);
    const ids = (count: number) => Array.from({ length: count }, (_, i) => `id-${i}`);
    for (const [knowledgeBaseIds, documentIds] of [[ids(MAX_ATTACHED_KNOWLEDGE_BASES + 1), []], [[], ids(MAX_ATTACHED_DOCUMENTS + 1)]]) {
      const error = await fails(t.yoga, SET_KNOWLEDGE, { conversationId: conversation.id, knowledgeBaseIds, documentIds }, owner.token);
      expect(error.code).toBe('BAD_USER_INPUT');
    }
    expect((await fails(t.yoga, SET_KNOWLEDGE, { conversationId: conversation.id, knowledgeBaseIds: [], documentIds: [] })).code)
      .toBe('UNAUTHENTICATED');
  });
});
