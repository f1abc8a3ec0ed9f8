import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentCommands } from '../../src/commands/documents.ts';
import { createKnowledgeBaseCommands } from '../../src/commands/knowledge-bases.ts';
import { DomainError } from '../../src/domain/decider.ts';
import { knowledgeBaseStream } from '../../src/domain/knowledge-base/knowledge-base.ts';
import { PERSONAL_DATA_PREFIX } from '../../src/infra/personal-data/codec.ts';
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

describe('knowledge base commands', () => {
  const { store, log, close } = domainEventStore();
  const documents = createDocumentCommands({ store });
  const bases = createKnowledgeBaseCommands({ store });
  afterAll(close);

  const uploadFor = async (ownerId: string) =>
    (await documents.uploadDocument({ ownerId, name: 'notes.md', mediaType: 'text/markdown', sha256: 'a'.repeat(64), size: 10 }, commandContext(ownerId))).documentId;
  const createFor = async (ownerId: string) =>
    (await bases.createKnowledgeBase({ ownerId, name: 'Health', description: 'Letters from the clinic' }, commandContext(ownerId))).knowledgeBaseId;

  it('creates under a new id, with name and description encrypted in the log', async () => {
    const result = await bases.createKnowledgeBase({ ownerId: 'u1', name: ' Health ', description: 'Letters from the clinic' }, commandContext('u1'));
    expect(result.knowledgeBaseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof result.position).toBe('bigint');
    const [read] = await store.readStream(knowledgeBaseStream(result.knowledgeBaseId));
    expect(read!.data).toEqual({ knowledgeBaseId: result.knowledgeBaseId, ownerId: 'u1', name: 'Health', description: 'Letters from the clinic' });
    const [raw] = await log.readStream(knowledgeBaseStream(result.knowledgeBaseId));
    const data = raw!.data as { name: string; description: string };
    expect(data.name.startsWith(PERSONAL_DATA_PREFIX) && data.description.startsWith(PERSONAL_DATA_PREFIX)).toBe(true);
  });

  it("adds the owner's own document, once", async () => {
    const knowledgeBaseId = await createFor('u1');
    const documentId = await uploadFor('u1');
    const added = await bases.addDocumentToKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1'));
    expect(added.events).toEqual([{ type: 'KnowledgeBaseDocumentAdded', data: { knowledgeBaseId, ownerId: 'u1', documentId } }]);
    const again = await bases.addDocumentToKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1'));
    expect(again).toMatchObject({ events: [], position: null });
  });

  it("refuses someone else's document, a missing and a deleted one with NOT_FOUND, appending nothing", async () => {
    const knowledgeBaseId = await createFor('u1');
    const strangers = await uploadFor('u2');
    const deleted = await uploadFor('u1');
    await documents.deleteDocument({ documentId: deleted, actorId: 'u1' }, commandContext('u1'));
    for (const documentId of [strangers, 'missing', deleted]) {
      const error = await rejection(bases.addDocumentToKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1')));
      expect(error.code, documentId).toBe('NOT_FOUND');
      expect(error.message).toBe('Document not found');
    }
    expect(await store.readStream(knowledgeBaseStream(knowledgeBaseId))).toHaveLength(1);
  });

  it("refuses adding to someone else's base as a missing base, whatever the document", async () => {
    const knowledgeBaseId = await createFor('u2');
    for (const documentId of [await uploadFor('u1'), await uploadFor('u2'), 'missing']) {
      const error = await rejection(bases.addDocumentToKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1')));
      expect(error.message).toBe('Knowledge base not found');
    }
  });

  it('removes a document even after it was deleted', async () => {
    const knowledgeBaseId = await createFor('u1');
    const documentId = await uploadFor('u1');
    await bases.addDocumentToKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1'));
    await documents.deleteDocument({ documentId, actorId: 'u1' }, commandContext('u1'));
    const removed = await bases.removeDocumentFromKnowledgeBase({ knowledgeBaseId, actorId: 'u1', documentId }, commandContext('u1'));
    expect(removed.events.map((e) => e.type)).toEqual(['KnowledgeBaseDocumentRemoved']);
  });

  it('renames, redescribes and deletes for the owner only', async () => {
    const knowledgeBaseId = await createFor('u1');
    expect((await rejection(bases.renameKnowledgeBase({ knowledgeBaseId, actorId: 'u2', name: 'X' }, commandContext('u2')))).code).toBe('NOT_FOUND');
    expect((await rejection(bases.deleteKnowledgeBase({ knowledgeBaseId, actorId: 'u2' }, commandContext('u2')))).code).toBe('NOT_FOUND');
    await bases.renameKnowledgeBase({ knowledgeBaseId, actorId: 'u1', name: 'Clinic' }, commandContext('u1'));
    const described = await bases.changeKnowledgeBaseDescription({ knowledgeBaseId, actorId: 'u1', description: null }, commandContext('u1'));
    expect(described.state).toMatchObject({ name: 'Clinic', description: null });
    const deleted = await bases.deleteKnowledgeBase({ knowledgeBaseId, actorId: 'u1' }, commandContext('u1'));
    expect(deleted.state.status).toBe('deleted');
  });
});
