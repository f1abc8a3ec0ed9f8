import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import {
  CANCEL, ConversationFeed, CONVERSATION, CONVERSATION_EVENTS, fails, getConversation, gql, newUser, ok, openSse, SEND,
  startConversation, startTestApp, TERMINAL_KINDS, type MessageView, type TestApp, type TestUser,
} from './support.ts';


const LIST = 'query { conversations(first: 100) { edges { node { id } } } }';
const ARCHIVED_LIST = 'query { conversations(first: 100, archived: true) { edges { node { id } } } }';
const RENAME = 'mutation Rename($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id title } }';
const ARCHIVE = 'mutation Archive($id: ID!) { archiveConversation(id: $id) { id } }';
const UNARCHIVE = 'mutation Unarchive($id: ID!) { unarchiveConversation(id: $id) { id } }';
const DELETE = 'mutation Delete($id: ID!) { deleteConversation(id: $id) }';
const PROJECTIONS = '{ projections { name state position lagEvents lagSeconds lastError } }';

describe('GraphQL authorization (in process)', () => {
  let t: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  /** Alice's conversation, with one question and its completed reply. */
  let conversationId: string;
  let replyId: string;

  const streamLength = async (id: string) => (await t.app.store.readStream(conversationStream(id))).length;
  const snapshot = async (id: string) => {
    const conversation = await getConversation(t.yoga, alice.token, id);
    return { conversation, events: await streamLength(id) };
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await newUser(t.yoga, { displayName: 'Admin' });
    alice = await newUser(t.yoga, { displayName: 'Alice' });
    bob = await newUser(t.yoga, { displayName: 'Bob' });
    expect([admin.role, alice.role, bob.role]).toEqual(['admin', 'member', 'member']);

    conversationId = (await startConversation(t.yoga, alice.token, { title: "Alice's secrets", systemPrompt: 'Private prompt' })).id;
    const feed = await ConversationFeed.open(t, conversationId, alice.token);
    try {
      await ok(t.yoga, SEND, { conversationId, content: 'my private question' }, alice.token);
      const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
      expect(terminal.kind).toBe('REPLY_COMPLETED');
      replyId = terminal.replyId!;
    } finally {
      await feed.close();
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("another user cannot touch Alice's conversation", () => {
    it('cannot read it: NOT_FOUND, the same answer as for an id that does not exist', async () => {
      const theirs = await fails(t.yoga, CONVERSATION, { id: conversationId }, bob.token);
      const nobodys = await fails(t.yoga, CONVERSATION, { id: '01a215be-0000-7000-8000-000000000000' }, bob.token);
      expect(theirs.code).toBe('NOT_FOUND');
      expect(theirs.message).toBe(nobodys.message);
      expect(theirs.result.data).toBeNull();
      expect(theirs.result.raw).not.toContain("Alice's secrets");
      expect(theirs.result.raw).not.toContain('my private question');
    });

    it('does not see it in their lists', async () => {
      const own = await startConversation(t.yoga, bob.token, { title: "Bob's" });
      const listed = (await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga, LIST, {}, bob.token))
        .conversations.edges.map((e) => e.node.id);
      expect(listed).toContain(own.id);
      expect(listed).not.toContain(conversationId);
      const archived = (await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga, ARCHIVED_LIST, {}, bob.token))
        .conversations.edges.map((e) => e.node.id);
      expect(archived).not.toContain(conversationId);
      // Not even the admin sees other people's conversations in their list.
      const adminList = (await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga, LIST, {}, admin.token))
        .conversations.edges.map((e) => e.node.id);
      expect(adminList).not.toContain(conversationId);
    });

    it('cannot rename, archive, unarchive, delete, send to or cancel in it, and nothing changes', async () => {
      const before = await snapshot(conversationId);
      const attempts: Array<[string, string, Record<string, unknown>]> = [
        ['rename', RENAME, { id: conversationId, title: 'Hijacked' }],
        ['archive', ARCHIVE, { id: conversationId }],
        ['unarchive', UNARCHIVE, { id: conversationId }],
        ['delete', DELETE, { id: conversationId }],
        ['sendMessage', SEND, { conversationId, content: 'injected message' }],
        ['cancelReply', CANCEL, { conversationId, replyId }],
      ];
      for (const who of [bob, admin]) {
        for (const [name, query, variables] of attempts) {
          const error = await fails(t.yoga, query, variables, who.token);
          expect(error.code, `${name} by ${who.role}`).toBe('NOT_FOUND');
          expect(error.result.data, name).toBeNull();
        }
      }
      const after = await snapshot(conversationId);
      expect(after).toEqual(before);
      expect(after.conversation).toMatchObject({ title: "Alice's secrets", archived: false, messageCount: 2 });
      // Alice herself still can act on it.
      expect((await ok<{ renameConversation: { title: string } }>(t.yoga, RENAME, { id: conversationId, title: 'Still mine' }, alice.token))
        .renameConversation.title).toBe('Still mine');
      await ok(t.yoga, RENAME, { id: conversationId, title: "Alice's secrets" }, alice.token);
    });

    it('archived, it is still out of reach', async () => {
      const archivedOne = (await startConversation(t.yoga, alice.token, { title: 'Archived secret' })).id;
      await ok(t.yoga, ARCHIVE, { id: archivedOne }, alice.token);
      expect((await fails(t.yoga, UNARCHIVE, { id: archivedOne }, bob.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, DELETE, { id: archivedOne }, bob.token)).code).toBe('NOT_FOUND');
      expect((await getConversation(t.yoga, alice.token, archivedOne)).archived).toBe(true);
    });

    it("cannot cancel Alice's reply while it is being generated", async () => {
      const slow = (await startConversation(t.yoga, alice.token, { title: 'Slow one', model: 'fake-slow' })).id;
      const feed = await ConversationFeed.open(t, slow, alice.token);
      const closedBefore = t.fake!.closedEarly;
      try {
        await ok(t.yoga, SEND, { conversationId: slow, content: 'please take your time answering' }, alice.token);
        const started = (await feed.collectUntil((e) => e.kind === 'REPLY_STARTED' || TERMINAL_KINDS.has(e.kind))).at(-1)!;
        expect(started.kind).toBe('REPLY_STARTED');
        const error = await fails(t.yoga, CANCEL, { conversationId: slow, replyId: started.replyId }, bob.token);
        expect(error.code).toBe('NOT_FOUND');
        const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
        expect(terminal.kind).toBe('REPLY_COMPLETED');
        expect(terminal.message).toMatchObject({ status: 'COMPLETE', content: 'You said: please take your time answering' });
      } finally {
        await feed.close();
      }
      expect(t.fake!.closedEarly).toBe(closedBefore);
    });

    it('cannot subscribe to its events: the subscription answers NOT_FOUND and ends, without events', async () => {
      const stream = await openSse(t.yoga, CONVERSATION_EVENTS, { conversationId }, bob.token);
      try {
        // Something happens in the conversation meanwhile; none of it may reach Bob.
        t.app.pubsub.publish('conversation', conversationId, { kind: 'DELTA', replyId, messageId: replyId, delta: 'leaked', offset: 0 });
        const first = await stream.nextFrame();
        expect(first?.event).toBe('next');
        const payload = JSON.parse(first!.data) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
        expect(payload.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
        expect(payload.data ?? null).toBeNull();
        const second = await stream.nextFrame();
        expect(second?.event).toBe('complete');
        expect(await stream.nextFrame()).toBeNull();
        expect(JSON.stringify(stream.frames)).not.toContain('leaked');
      } finally {
        await stream.close();
      }
    });
  });

  describe('without a session', () => {
    const protectedOperations: Array<[string, string, () => Record<string, unknown>]> = [
      ['conversations', LIST, () => ({})],
      ['conversation', CONVERSATION, () => ({ id: conversationId })],
      ['startConversation', 'mutation { startConversation { id } }', () => ({})],
      ['renameConversation', RENAME, () => ({ id: conversationId, title: 'x' })],
      ['archiveConversation', ARCHIVE, () => ({ id: conversationId })],
      ['unarchiveConversation', UNARCHIVE, () => ({ id: conversationId })],
      ['deleteConversation', DELETE, () => ({ id: conversationId })],
      ['sendMessage', SEND, () => ({ conversationId, content: 'hi' })],
      ['cancelReply', CANCEL, () => ({ conversationId, replyId })],
      ['logout', 'mutation { logout }', () => ({})],
      ['changePassword', 'mutation { changePassword(currentPassword: "whatever-1", newPassword: "whatever-2") { token } }', () => ({})],
      ['models', '{ models { id } }', () => ({})],
      ['projections', PROJECTIONS, () => ({})],
    ];

    it('every protected field answers UNAUTHENTICATED, for no token and for a bad one', async () => {
      const before = await snapshot(conversationId);
      for (const token of [null, 'not-a-real-token']) {
        for (const [name, query, variables] of protectedOperations) {
          const error = await fails(t.yoga, query, variables(), token);
          expect(error.code, `${name} with token ${token}`).toBe('UNAUTHENTICATED');
          expect(error.result.data ?? null, name).toBeNull();
        }
      }
      expect(await snapshot(conversationId)).toEqual(before);
    });

    it('the public fields still answer', async () => {
      expect(await ok(t.yoga, '{ health me { id } }')).toEqual({ health: 'ok', me: null });
    });

    it('a subscription answers UNAUTHENTICATED and ends', async () => {
      const stream = await openSse(t.yoga, CONVERSATION_EVENTS, { conversationId }, null);
      try {
        const first = await stream.nextFrame();
        const payload = JSON.parse(first!.data) as { errors?: Array<{ extensions?: { code?: string } }> };
        expect(payload.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect((await stream.nextFrame())?.event).toBe('complete');
        expect(await stream.nextFrame()).toBeNull();
      } finally {
        await stream.close();
      }
    });

    it('a logged-out token loses access at once', async () => {
      const carol = await newUser(t.yoga);
      const own = await startConversation(t.yoga, carol.token, { title: 'Carol' });
      await ok(t.yoga, 'mutation { logout }', {}, carol.token);
      expect((await fails(t.yoga, CONVERSATION, { id: own.id }, carol.token)).code).toBe('UNAUTHENTICATED');
      const message = await gql<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId: own.id, content: 'still there?' }, carol.token);
      expect(message.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('admin-only fields', () => {
    it('projections: an admin gets the status of every projection', async () => {
      const result = await ok<{ projections: Array<{ name: string; state: string; position: string; lagEvents: number; lastError: string | null }> }>(
        t.yoga, PROJECTIONS, {}, admin.token);
      const names = result.projections.map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(['users', 'conversations']));
      for (const projection of result.projections) {
        expect(projection.lastError).toBeNull();
        expect(BigInt(projection.position)).toBeGreaterThan(0n);
      }
    });

    it('projections: a member gets FORBIDDEN', async () => {
      for (const member of [alice, bob]) {
        const error = await fails(t.yoga, PROJECTIONS, {}, member.token);
        expect(error.code).toBe('FORBIDDEN');
        expect(error.result.data ?? null).toBeNull();
      }
    });
  });
});
