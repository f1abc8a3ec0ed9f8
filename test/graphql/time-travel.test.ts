// Time travel in the API: conversation(id, asOf) and document(id, asOf) fold the stream up to that
// moment. Moments are taken from the events' own recorded occurredAt values, never from sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import { documentStream } from '../../src/domain/document/document.ts';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import {
  CONVERSATION_FIELDS, ENDPOINT, eventually, fails, getConversation, MESSAGE_FIELDS, newUser, ok, SEND, startConversation, startTestApp,
  type TestApp, type TestUser,
} from './support.ts';

const AS_OF = `query AsOf($id: ID!, $asOf: DateTime, $first: Int, $after: String) {
  conversation(id: $id, asOf: $asOf) { ${CONVERSATION_FIELDS} knowledgeBaseIds documentIds
    messages(first: $first, after: $after) { edges { cursor node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage endCursor } } } }`;
const DOCUMENT_AS_OF = 'query Doc($id: ID!, $asOf: DateTime) { document(id: $id, asOf: $asOf) { id name status version chunkCount createdAt } }';

interface AsOfView {
  id: string; title: string | null; archived: boolean; messageCount: number; createdAt: string; updatedAt: string; owner: { id: string };
  messages: { edges: Array<{ cursor: string; node: { id: string; role: string; content: string | null; status: string; inReplyTo: string | null } & Record<string, unknown> }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

describe('time travel over GraphQL (int)', () => {
  let test: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  let events: RecordedEvent[];

  const asOf = (variables: Record<string, unknown>, token = alice.token) =>
    ok<{ conversation: AsOfView }>(test.yoga, AS_OF, { first: 100, ...variables }, token).then((r) => r.conversation);
  const eventOf = (type: string) => events.find((e) => e.type === type)!;
  /** The title the log says the conversation had at `at`: the newest start or rename at or before it. */
  const titleAt = (at: string) => events.filter((e) => ['ConversationStarted', 'ConversationRenamed'].includes(e.type)
    && Date.parse(e.metadata.occurredAt) <= Date.parse(at)).at(-1)?.data as { title: string };

  beforeAll(async () => {
    test = await startTestApp();
    alice = await newUser(test.yoga);
    bob = await newUser(test.yoga);
    conversationId = (await startConversation(test.yoga, alice.token, { title: 'The old title' })).id;
    await ok(test.yoga, SEND, { conversationId, content: 'Hello there' }, alice.token);
    await eventually(async () => (await getConversation(test.yoga, alice.token, conversationId)).messages.edges
      .some((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE'), 'the reply');
    await ok(test.yoga, 'mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id } }', { id: conversationId, t: 'The new title' }, alice.token);
    await ok(test.yoga, 'mutation($id: ID!) { archiveConversation(id: $id) { id } }', { id: conversationId }, alice.token);
    events = await test.app.store.readStream(conversationStream(conversationId));
  }, 120_000);
  afterAll(async () => {
    await test?.close();
  });

  it('before the rename, the conversation had its old title; after it, the new one', async () => {
    const renamed = eventOf('ConversationRenamed');
    const started = eventOf('ConversationStarted');
    // The reply was generated in between, so they were recorded at different moments.
    expect(Date.parse(renamed.metadata.occurredAt)).toBeGreaterThan(Date.parse(started.metadata.occurredAt));
    const before = await asOf({ id: conversationId, asOf: new Date(Date.parse(renamed.metadata.occurredAt) - 1).toISOString() });
    expect(before.title).toBe('The old title');
    expect(before.archived).toBe(false);
    const at = await asOf({ id: conversationId, asOf: renamed.metadata.occurredAt });
    expect(at.title).toBe('The new title');
    expect((await asOf({ id: conversationId, asOf: started.metadata.occurredAt })).title).toBe(titleAt(started.metadata.occurredAt).title);
  });

  it('shows messages and replies as they were at each recorded moment', async () => {
    for (const event of events) {
      const at = event.metadata.occurredAt;
      const view = await asOf({ id: conversationId, asOf: at });
      expect(view.title, event.type).toBe(titleAt(at).title);
      const upTo = events.filter((e) => Date.parse(e.metadata.occurredAt) <= Date.parse(at));
      const messages = view.messages.edges.map((e) => e.node);
      expect(messages.length, event.type).toBe(upTo.filter((e) => ['UserMessageSent', 'AssistantReplyStarted'].includes(e.type)).length);
      expect(view.messageCount).toBe(messages.length);
      expect(view.archived, event.type).toBe(upTo.some((e) => e.type === 'ConversationArchived'));
      if (messages[0]) expect(messages[0]).toMatchObject({ role: 'USER', content: 'Hello there', status: 'COMPLETE' });
      const reply = messages[1];
      if (reply) {
        const completed = upTo.some((e) => e.type === 'AssistantReplyCompleted');
        expect(reply, event.type).toMatchObject({ role: 'ASSISTANT', inReplyTo: messages[0]!.id, status: completed ? 'COMPLETE' : 'STREAMING' });
        if (completed) expect(reply.content).toBe((eventOf('AssistantReplyCompleted').data as { text: string }).text);
      }
    }
  });

  it('at the latest moment, equals the live read model', async () => {
    const live = await getConversation(test.yoga, alice.token, conversationId);
    const folded = await asOf({ id: conversationId, asOf: new Date().toISOString() });
    const pick = (v: { title: string | null; archived: boolean; messageCount: number; createdAt: string; owner: { id: string } }) =>
      ({ title: v.title, archived: v.archived, messageCount: v.messageCount, createdAt: Date.parse(v.createdAt), owner: v.owner });
    expect(pick(folded)).toEqual(pick(live));
    const facts = (m: Record<string, unknown>) => ({
      id: m.id, role: m.role, content: m.content, status: m.status, inReplyTo: m.inReplyTo, model: m.model, usage: m.usage,
      latencyMs: m.latencyMs, timeToFirstTokenMs: m.timeToFirstTokenMs, finishReason: m.finishReason,
      createdAt: Date.parse(m.createdAt as string), completedAt: m.completedAt ? Date.parse(m.completedAt as string) : null,
    });
    expect(folded.messages.edges.map((e) => facts(e.node))).toEqual(live.messages.edges.map((e) => facts({ ...e.node })));
  });

  it('pages the folded messages with cursors', async () => {
    const now = new Date().toISOString();
    const first = await asOf({ id: conversationId, asOf: now, first: 1 });
    expect(first.messages.edges).toHaveLength(1);
    expect(first.messages.pageInfo.hasNextPage).toBe(true);
    const second = await asOf({ id: conversationId, asOf: now, first: 1, after: first.messages.pageInfo.endCursor });
    expect(second.messages.edges.map((e) => e.node.role)).toEqual(['ASSISTANT']);
    expect(second.messages.pageInfo.hasNextPage).toBe(false);
  });

  it('NOT_FOUND before it existed, for someone else, and for an unknown id; UNAUTHENTICATED without a session', async () => {
    const started = eventOf('ConversationStarted');
    const justBefore = new Date(Date.parse(started.metadata.occurredAt) - 1).toISOString();
    expect((await fails(test.yoga, AS_OF, { id: conversationId, asOf: justBefore }, alice.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, AS_OF, { id: conversationId, asOf: started.metadata.occurredAt }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, AS_OF, { id: 'no-such-conversation', asOf: started.metadata.occurredAt }, alice.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, AS_OF, { id: conversationId, asOf: started.metadata.occurredAt })).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a future, a malformed or a hostile asOf or id with BAD_USER_INPUT', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    for (const variables of [
      { id: conversationId, asOf: future }, { id: conversationId, asOf: 'yesterday' }, { id: conversationId, asOf: 12 },
      { id: conversationId, asOf: '' }, { id: 'x'.repeat(300), asOf: new Date().toISOString() }, { id: 'a\u0000b', asOf: new Date().toISOString() },
    ]) {
      expect((await fails(test.yoga, AS_OF, variables, alice.token)).code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    }
  });

  it('a deleted conversation is NOT_FOUND from its deletion on, and as it was before', async () => {
    const id = (await startConversation(test.yoga, alice.token, { title: 'Soon gone' })).id;
    await ok(test.yoga, 'mutation($id: ID!) { deleteConversation(id: $id) }', { id }, alice.token);
    const stream = await test.app.store.readStream(conversationStream(id));
    const deleted = stream.find((e) => e.type === 'ConversationDeleted')!;
    expect((await fails(test.yoga, AS_OF, { id, asOf: deleted.metadata.occurredAt }, alice.token)).code).toBe('NOT_FOUND');
    const before = stream.find((e) => e.type === 'ConversationStarted')!;
    if (Date.parse(before.metadata.occurredAt) < Date.parse(deleted.metadata.occurredAt)) {
      expect((await asOf({ id, asOf: before.metadata.occurredAt })).title).toBe('Soon gone');
    }
  });

  it('document(id, asOf): the name and ingestion status it had then', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation($f: File!) { uploadDocument(file: $f) { documentId } }', variables: { f: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.f'] }));
    form.set('0', new File(['# Notes\n\nSome text about lighthouses.\n'], 'first-name.md', { type: 'text/markdown' }));
    const response = await test.yoga.fetch(ENDPOINT, { method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', authorization: `Bearer ${alice.token}` } });
    const documentId = (await response.json() as { data: { uploadDocument: { documentId: string } } }).data.uploadDocument.documentId;
    await eventually(async () => (await ok<{ document: { status: string } }>(test.yoga, DOCUMENT_AS_OF, { id: documentId }, alice.token))
      .document.status === 'indexed', 'the document indexed', 60_000);
    await ok(test.yoga, 'mutation($id: ID!, $n: String!) { renameDocument(id: $id, name: $n) { id } }', { id: documentId, n: 'second-name.md' }, alice.token);
    const stream = await test.app.store.readStream(documentStream(documentId));
    const uploaded = stream.find((e) => e.type === 'DocumentUploaded')!;
    const renamed = stream.find((e) => e.type === 'DocumentRenamed')!;
    const docAsOf = async (at: string) => (await ok<{ document: { name: string; status: string } }>(test.yoga, DOCUMENT_AS_OF, { id: documentId, asOf: at }, alice.token)).document;
    const atUpload = await docAsOf(uploaded.metadata.occurredAt);
    expect(atUpload.name).toBe('first-name.md');
    // Ingestion events recorded in the same millisecond as the upload belong to that moment too.
    const sameMoment = stream.filter((e) => e.metadata.occurredAt === uploaded.metadata.occurredAt).at(-1)!;
    const expectedStatus: Record<string, string> = {
      DocumentUploaded: 'uploaded', DocumentExtractionStarted: 'extracting', DocumentExtracted: 'extracted', DocumentChunked: 'chunked', DocumentIndexed: 'indexed',
    };
    expect(atUpload.status).toBe(expectedStatus[sameMoment.type]);
    expect((await docAsOf(new Date(Date.parse(renamed.metadata.occurredAt) - 1).toISOString())).name).toBe('first-name.md');
    expect(await docAsOf(renamed.metadata.occurredAt)).toMatchObject({ name: 'second-name.md', status: 'indexed' });
    const justBefore = new Date(Date.parse(uploaded.metadata.occurredAt) - 1).toISOString();
    expect((await fails(test.yoga, DOCUMENT_AS_OF, { id: documentId, asOf: justBefore }, alice.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, DOCUMENT_AS_OF, { id: documentId, asOf: renamed.metadata.occurredAt }, bob.token)).code).toBe('NOT_FOUND');
  });
});
