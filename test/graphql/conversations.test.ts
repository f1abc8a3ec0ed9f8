import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationFeed, CONVERSATION, fails, getConversation, newUser, ok, SEND, startConversation, TERMINAL_KINDS,
  type ConversationView, type MessageView, type TestApp, type TestUser, startTestApp,
} from './support.ts';


const LIST = `query List($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {
  conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {
    edges { cursor node { id title archived } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const RENAME = 'mutation Rename($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id title updatedAt } }';
const ARCHIVE = 'mutation Archive($id: ID!) { archiveConversation(id: $id) { id archived } }';
const UNARCHIVE = 'mutation Unarchive($id: ID!) { unarchiveConversation(id: $id) { id archived } }';
const DELETE = 'mutation Delete($id: ID!) { deleteConversation(id: $id) }';

interface ListResult {
  conversations: {
    edges: Array<{ cursor: string; node: { id: string; title: string; archived: boolean } }>;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}

describe('GraphQL conversations (in process)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  const list = (variables: Record<string, unknown>, token = user.token) => ok<ListResult>(t.yoga, LIST, variables, token);
  const ids = (result: ListResult) => result.conversations.edges.map((e) => e.node.id);

  describe('startConversation', () => {
    it('returns the conversation with title, model and system prompt', async () => {
      const conversation = await startConversation(t.yoga, user.token, {
        title: '  Trip planning  ', model: 'fake-slow', systemPrompt: 'You are terse.',
      });
      expect(conversation).toMatchObject({
        title: 'Trip planning', model: 'fake-slow', systemPrompt: 'You are terse.', archived: false, messageCount: 0, owner: { id: user.userId },
      });
      expect(conversation.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(conversation.createdAt)).not.toBeNaN();
      // And it is readable right away (read-your-writes).
      const read = await getConversation(t.yoga, user.token, conversation.id);
      expect(read).toMatchObject({ id: conversation.id, title: 'Trip planning', model: 'fake-slow', messages: { edges: [] } });
    });

    // Fails today: src/graphql/schema/conversations.ts passes the GraphQL input (field `parameters`) to
    // conversations.start, which reads `params`, so the parameters are silently dropped.
    it('keeps the model parameters given at start, and uses them for replies', async () => {
      const parameters = { temperature: 0.7, topP: 0.9, maxTokens: 256 };
      const conversation = await startConversation(t.yoga, user.token, { title: 'Tuned', model: 'fake-echo', parameters });
      expect(conversation.parameters).toEqual(parameters);
      expect((await getConversation(t.yoga, user.token, conversation.id)).parameters).toEqual(parameters);

      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      try {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'tuned question' }, user.token);
        const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
        expect(terminal.kind).toBe('REPLY_COMPLETED');
        expect(terminal.message?.parameters).toEqual(parameters);
      } finally {
        await feed.close();
      }
      const request = t.fake!.requests.find((r) => r.path === '/v1/chat/completions'
        && JSON.stringify(r.body).includes('tuned question')) as { body: Record<string, unknown> } | undefined;
      expect(request?.body).toMatchObject({ temperature: 0.7, top_p: 0.9, max_tokens: 256 });
    });

    it('uses the default model, a default title and no parameters when none are given', async () => {
      const conversation = await startConversation(t.yoga, user.token);
      expect(conversation).toMatchObject({
        model: 'fake-echo', title: 'New conversation', systemPrompt: null, parameters: { temperature: null, topP: null, maxTokens: null },
      });
    });

    it('rejects parameters out of range with BAD_USER_INPUT', async () => {
      for (const [parameters, limit] of [[{ temperature: 3 }, '2'], [{ temperature: -0.1 }, '0'], [{ topP: 1.5 }, '1'], [{ maxTokens: 0 }, '1']] as const) {
        const error = await fails(t.yoga, 'mutation S($input: StartConversationInput) { startConversation(input: $input) { id } }',
          { input: { parameters } }, user.token);
        expect(error.code, JSON.stringify(parameters)).toBe('BAD_USER_INPUT');
        expect(error.message).toContain(Object.keys(parameters)[0]);
        expect(error.message).toContain(limit);
      }
    });

    it('rejects a title over 200 characters, naming the limit, and accepts exactly 200', async () => {
      const error = await fails(t.yoga, 'mutation S($input: StartConversationInput) { startConversation(input: $input) { id } }',
        { input: { title: 't'.repeat(201) } }, user.token);
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain('200');
      const ok200 = await startConversation(t.yoga, user.token, { title: 't'.repeat(200) });
      expect(ok200.title).toBe('t'.repeat(200));
    });

    it('refuses a model no provider offers with MODEL_NOT_FOUND', async () => {
      const error = await fails(t.yoga, 'mutation S($input: StartConversationInput) { startConversation(input: $input) { id } }',
        { input: { model: 'no-such-model' } }, user.token);
      expect(error.code).toBe('MODEL_NOT_FOUND');
      expect(error.message).toContain('no-such-model');
    });
  });

  describe('changing a conversation', () => {
    it('renames, with the same title limit', async () => {
      const conversation = await startConversation(t.yoga, user.token, { title: 'Before' });
      const renamed = await ok<{ renameConversation: { id: string; title: string } }>(t.yoga, RENAME, { id: conversation.id, title: 'After' }, user.token);
      expect(renamed.renameConversation).toMatchObject({ id: conversation.id, title: 'After' });
      expect((await getConversation(t.yoga, user.token, conversation.id)).title).toBe('After');

      const tooLong = await fails(t.yoga, RENAME, { id: conversation.id, title: 'x'.repeat(201) }, user.token);
      expect(tooLong.code).toBe('BAD_USER_INPUT');
      expect(tooLong.message).toContain('200');
      const blank = await fails(t.yoga, RENAME, { id: conversation.id, title: '   ' }, user.token);
      expect(blank.code).toBe('BAD_USER_INPUT');
      expect((await getConversation(t.yoga, user.token, conversation.id)).title).toBe('After');
    });

    it('archives (out of the default list, into archived: true) and unarchives', async () => {
      const conversation = await startConversation(t.yoga, user.token, { title: 'To archive' });
      expect(ids(await list({ first: 100 }))).toContain(conversation.id);

      const archived = await ok<{ archiveConversation: { archived: boolean } }>(t.yoga, ARCHIVE, { id: conversation.id }, user.token);
      expect(archived.archiveConversation.archived).toBe(true);
      expect(ids(await list({ first: 100 }))).not.toContain(conversation.id);
      expect(ids(await list({ first: 100, archived: false }))).not.toContain(conversation.id);
      expect(ids(await list({ first: 100, archived: true }))).toContain(conversation.id);
      // Still readable by id while archived.
      expect((await getConversation(t.yoga, user.token, conversation.id)).archived).toBe(true);
      // Archiving again changes nothing.
      expect((await ok<{ archiveConversation: { archived: boolean } }>(t.yoga, ARCHIVE, { id: conversation.id }, user.token)).archiveConversation.archived).toBe(true);

      const unarchived = await ok<{ unarchiveConversation: { archived: boolean } }>(t.yoga, UNARCHIVE, { id: conversation.id }, user.token);
      expect(unarchived.unarchiveConversation.archived).toBe(false);
      expect(ids(await list({ first: 100 }))).toContain(conversation.id);
      expect(ids(await list({ first: 100, archived: true }))).not.toContain(conversation.id);
    });

    it('refuses a message in an archived conversation with CONFLICT', async () => {
      const conversation = await startConversation(t.yoga, user.token, { title: 'Archived chat' });
      await ok(t.yoga, ARCHIVE, { id: conversation.id }, user.token);
      const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'hello?' }, user.token);
      expect(error.code).toBe('CONFLICT');
      expect((await getConversation(t.yoga, user.token, conversation.id)).messageCount).toBe(0);
    });

    it('deletes: afterwards the conversation is NOT_FOUND everywhere and subscribers are told', async () => {
      const conversation = await startConversation(t.yoga, user.token, { title: 'Doomed' });
      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      try {
        const deleted = await ok<{ deleteConversation: string }>(t.yoga, DELETE, { id: conversation.id }, user.token);
        expect(deleted.deleteConversation).toBe(conversation.id);
        const last = await feed.next();
        expect(last).toMatchObject({ kind: 'CONVERSATION_DELETED', conversationId: conversation.id });
        expect(await feed.next()).toBeNull(); // and the subscription ends
      } finally {
        await feed.close();
      }

      expect((await fails(t.yoga, CONVERSATION, { id: conversation.id }, user.token)).code).toBe('NOT_FOUND');
      expect(ids(await list({ first: 100 }))).not.toContain(conversation.id);
      expect(ids(await list({ first: 100, archived: true }))).not.toContain(conversation.id);
      for (const [query, variables] of [
        [RENAME, { id: conversation.id, title: 'Again' }], [ARCHIVE, { id: conversation.id }], [UNARCHIVE, { id: conversation.id }],
        [DELETE, { id: conversation.id }], [SEND, { conversationId: conversation.id, content: 'anyone?' }],
      ] as const) {
        expect((await fails(t.yoga, query, variables, user.token)).code, query).toBe('NOT_FOUND');
      }
    });

    it('answers NOT_FOUND for an id that never existed', async () => {
      expect((await fails(t.yoga, CONVERSATION, { id: '01a215be-0000-7000-8000-000000000000' }, user.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, RENAME, { id: 'not-even-a-uuid', title: 'x' }, user.token)).code).toBe('NOT_FOUND');
    });
  });

  describe('listing', () => {
    it('lists newest first with Relay cursor pagination', async () => {
      const lister = await newUser(t.yoga);
      const created: ConversationView[] = [];
      for (let i = 0; i < 5; i++) created.push(await startConversation(t.yoga, lister.token, { title: `Conversation ${i}` }));
      const newestFirst = created.map((c) => c.id).reverse();

      const all = await list({ first: 10 }, lister.token);
      expect(ids(all)).toEqual(newestFirst);
      expect(all.conversations.pageInfo.hasNextPage).toBe(false);

      const page1 = await list({ first: 2 }, lister.token);
      expect(ids(page1)).toEqual(newestFirst.slice(0, 2));
      expect(page1.conversations.pageInfo.hasNextPage).toBe(true);
      expect(page1.conversations.pageInfo.endCursor).toBe(page1.conversations.edges[1]!.cursor);

      const page2 = await list({ first: 2, after: page1.conversations.pageInfo.endCursor }, lister.token);
      expect(ids(page2)).toEqual(newestFirst.slice(2, 4));
      expect(page2.conversations.pageInfo.hasNextPage).toBe(true);

      const page3 = await list({ first: 2, after: page2.conversations.pageInfo.endCursor }, lister.token);
      expect(ids(page3)).toEqual(newestFirst.slice(4));
      expect(page3.conversations.pageInfo.hasNextPage).toBe(false);

      // Backwards from the end.
      const back = await list({ last: 2, before: page3.conversations.edges[0]!.cursor }, lister.token);
      expect(ids(back)).toEqual(newestFirst.slice(2, 4));
      expect(back.conversations.pageInfo.hasPreviousPage).toBe(true);

      // Each user sees only their own.
      expect(ids(all).some((id) => ids(page1).includes(id))).toBe(true);
      expect(ids(await list({ first: 100 }))).not.toContain(created[0]!.id);
    });

    it('rejects page sizes over 100 (and negative ones) with BAD_USER_INPUT naming the limit', async () => {
      const tooMany = await fails(t.yoga, LIST, { first: 101 }, user.token);
      expect(tooMany.code).toBe('BAD_USER_INPUT');
      expect(tooMany.message).toContain('100');
      expect((await fails(t.yoga, LIST, { last: 101 }, user.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, LIST, { first: -1 }, user.token)).code).toBe('BAD_USER_INPUT');
      const messages = await fails(t.yoga, `query($id: ID!) { conversation(id: $id) { messages(first: 101) { edges { cursor } } } }`,
        { id: (await startConversation(t.yoga, user.token)).id }, user.token);
      expect(messages.code).toBe('BAD_USER_INPUT');
      expect(messages.message).toContain('100');
      expect((await list({ first: 100 })).conversations.edges.length).toBeGreaterThan(0);
    });

    it('rejects a forged cursor with BAD_USER_INPUT', async () => {
      const error = await fails(t.yoga, LIST, { first: 2, after: 'not-a-cursor' }, user.token);
      expect(error.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('conversation(id) with messages', () => {
    it('returns the messages oldest first, with the assistant reply, paginated', async () => {
      const conversation = await startConversation(t.yoga, user.token, { title: 'Chat', model: 'fake-echo' });
      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      const sent: MessageView[] = [];
      try {
        for (const content of ['first question', 'second question']) {
          sent.push((await ok<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId: conversation.id, content }, user.token)).sendMessage);
          const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
          expect(terminal.kind).toBe('REPLY_COMPLETED');
        }
      } finally {
        await feed.close();
      }
      expect(sent[0]).toMatchObject({ role: 'USER', content: 'first question', status: 'COMPLETE', conversationId: conversation.id });

      const read = await getConversation(t.yoga, user.token, conversation.id);
      expect(read.messageCount).toBe(4);
      const messages = read.messages.edges.map((e) => e.node);
      expect(messages.map((m) => [m.role, m.content, m.status])).toEqual([
        ['USER', 'first question', 'COMPLETE'],
        ['ASSISTANT', 'You said: first question', 'COMPLETE'],
        ['USER', 'second question', 'COMPLETE'],
        ['ASSISTANT', 'You said: second question', 'COMPLETE'],
      ]);
      expect(messages[1]!.inReplyTo).toBe(messages[0]!.id);
      expect(messages[3]!.inReplyTo).toBe(messages[2]!.id);

      const page = await ok<{ conversation: { messages: { edges: Array<{ cursor: string; node: { content: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>(
        t.yoga, `query($id: ID!, $after: String) { conversation(id: $id) { messages(first: 3, after: $after) {
          edges { cursor node { content } } pageInfo { hasNextPage endCursor } } } }`, { id: conversation.id }, user.token);
      expect(page.conversation.messages.edges.map((e) => e.node.content)).toEqual(messages.slice(0, 3).map((m) => m.content));
      expect(page.conversation.messages.pageInfo.hasNextPage).toBe(true);
      const rest = await ok<{ conversation: { messages: { edges: Array<{ node: { content: string } }>; pageInfo: { hasNextPage: boolean } } } }>(
        t.yoga, `query($id: ID!, $after: String) { conversation(id: $id) { messages(first: 3, after: $after) {
          edges { node { content } } pageInfo { hasNextPage } } } }`,
        { id: conversation.id, after: page.conversation.messages.pageInfo.endCursor }, user.token);
      expect(rest.conversation.messages.edges.map((e) => e.node.content)).toEqual([messages[3]!.content]);
      expect(rest.conversation.messages.pageInfo.hasNextPage).toBe(false);
    });

    it('rejects an empty message and one of only whitespace with BAD_USER_INPUT', async () => {
      const conversation = await startConversation(t.yoga, user.token);
      for (const content of ['', '   \n ']) {
        const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
        expect(error.code).toBe('BAD_USER_INPUT');
      }
      expect((await getConversation(t.yoga, user.token, conversation.id)).messageCount).toBe(0);
    });
  });
});
