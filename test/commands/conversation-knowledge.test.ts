import { afterAll, describe, expect, it } from 'vitest';
import { createConversationKnowledgeCommands } from '../../src/commands/conversation-knowledge.ts';
import { createDocumentCommands } from '../../src/commands/documents.ts';
import { executeCommand } from '../../src/commands/execute-command.ts';
import { createKnowledgeBaseCommands } from '../../src/commands/knowledge-bases.ts';
import { conversationDecider, conversationStream, MAX_ATTACHED_DOCUMENTS } from '../../src/domain/conversation/conversation.ts';
import { DomainError } from '../../src/domain/decider.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { commandContext, domainEventStore } from '../support/domain-event-store.ts';

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but the command succeeded');
}

/** The store, counting the streams read through it. */
function counting(store: EventStore) {
  const reads: string[] = [];
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'readStream') return (stream: string, ...rest: unknown[]) => {
        reads.push(stream);
        return (target.readStream as (...args: unknown[]) => unknown).call(target, stream, ...rest);
      };
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: counted, reads };
}

describe('setConversationKnowledge', () => {
  const { store: inner, close } = domainEventStore();
  const { store, reads } = counting(inner);
  const documents = createDocumentCommands({ store });
  const bases = createKnowledgeBaseCommands({ store });
  const { setConversationKnowledge } = createConversationKnowledgeCommands({ store });
  afterAll(close);

  const startConversation = async (ownerId: string) => {
    const conversationId = uuidv7();
    await executeCommand(store, conversationDecider, conversationStream(conversationId),
      { type: 'StartConversation', conversationId, ownerId, title: 'Q', model: 'm' }, commandContext(ownerId));
    return conversationId;
  };
  const uploadFor = async (ownerId: string) =>
    (await documents.uploadDocument({ ownerId, name: 'n.txt', mediaType: 'text/plain', sha256: 'b'.repeat(64), size: 1 }, commandContext(ownerId))).documentId;
  const baseFor = async (ownerId: string) =>
    (await bases.createKnowledgeBase({ ownerId, name: 'B' }, commandContext(ownerId))).knowledgeBaseId;

  it("attaches the owner's bases and documents, and records the whole selection", async () => {
    const conversationId = await startConversation('u1');
    const knowledgeBaseId = await baseFor('u1');
    const documentId = await uploadFor('u1');
    const result = await setConversationKnowledge({ conversationId, ownerId: 'u1', knowledgeBaseIds: [knowledgeBaseId], documentIds: [documentId, documentId] }, commandContext('u1'));
    expect(result.events).toEqual([{
      type: 'ConversationKnowledgeAttached', data: { conversationId, ownerId: 'u1', knowledgeBaseIds: [knowledgeBaseId], documentIds: [documentId] },
    }]);
    expect(typeof result.position).toBe('bigint');
    expect(result.state.knowledge).toEqual({ knowledgeBaseIds: [knowledgeBaseId], documentIds: [documentId] });

    const again = await setConversationKnowledge({ conversationId, ownerId: 'u1', knowledgeBaseIds: [knowledgeBaseId], documentIds: [documentId] }, commandContext('u1'));
    expect(again).toMatchObject({ events: [], position: null });
    const detached = await setConversationKnowledge({ conversationId, ownerId: 'u1', knowledgeBaseIds: [], documentIds: [] }, commandContext('u1'));
    expect(detached.state.knowledge).toEqual({ knowledgeBaseIds: [], documentIds: [] });
  });

  it("refuses someone else's, missing and deleted bases and documents with NOT_FOUND, appending nothing", async () => {
    const conversationId = await startConversation('u1');
    const own = await baseFor('u1');
    const deletedBase = await baseFor('u1');
    await bases.deleteKnowledgeBase({ knowledgeBaseId: deletedBase, actorId: 'u1' }, commandContext('u1'));
    const deletedDocument = await uploadFor('u1');
    await documents.deleteDocument({ documentId: deletedDocument, actorId: 'u1' }, commandContext('u1'));
    const cases = [
      { knowledgeBaseIds: [own, await baseFor('u2')], documentIds: [], message: 'Knowledge base not found' },
      { knowledgeBaseIds: ['missing'], documentIds: [], message: 'Knowledge base not found' },
      { knowledgeBaseIds: [deletedBase], documentIds: [], message: 'Knowledge base not found' },
      { knowledgeBaseIds: [own], documentIds: [await uploadFor('u2')], message: 'Document not found' },
      { knowledgeBaseIds: [], documentIds: [deletedDocument], message: 'Document not found' },
    ];
    for (const { message, ...selection } of cases) {
      const error = await rejection(setConversationKnowledge({ conversationId, ownerId: 'u1', ...selection }, commandContext('u1')));
      expect(error).toMatchObject({ code: 'NOT_FOUND', message });
    }
    expect(await store.readStream(conversationStream(conversationId))).toHaveLength(1);
  });

  it("is NOT_FOUND for someone else's conversation before looking at the knowledge", async () => {
    const conversationId = await startConversation('u2');
    const knowledgeBaseId = await baseFor('u1');
    reads.length = 0;
    const error = await rejection(setConversationKnowledge({ conversationId, ownerId: 'u1', knowledgeBaseIds: [knowledgeBaseId], documentIds: [] }, commandContext('u1')));
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'Conversation not found' });
    expect(reads).toEqual([conversationStream(conversationId)]);
  });

  it('refuses a list over the limit before reading any stream', async () => {
    const conversationId = await startConversation('u1');
    reads.length = 0;
    const documentIds = Array.from({ length: MAX_ATTACHED_DOCUMENTS + 1 }, (_, i) => `d${i}`);
    const error = await rejection(setConversationKnowledge({ conversationId, ownerId: 'u1', knowledgeBaseIds: [], documentIds }, commandContext('u1')));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(reads).toEqual([]);
  });
});
