import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream, MAX_TAGS } from '../../src/domain/conversation/conversation.ts';
import { auditRecord } from '../../src/projections/audit-projection.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  ConversationFeed, eventually, fails, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from './support.ts';

/** Conversation tools (issue 9 item 2) through the GraphQL API, on PGlite and, with DATABASE_URL, on PostgreSQL. */

const TREE_FIELDS = `id role content status parentId editOf siblingIds siblingIndex siblingCount childIds model
  parameters { temperature } provenance { inReplyTo systemPromptSha256 requestedModel }`;

interface TreeMessage {
  id: string; role: 'USER' | 'ASSISTANT'; content: string | null; status: string; parentId: string | null; editOf: string | null;
  siblingIds: string[]; siblingIndex: number; siblingCount: number; childIds: string[]; model: string | null;
  parameters: { temperature: number | null } | null;
  provenance: { inReplyTo: string[]; systemPromptSha256: string | null; requestedModel: string } | null;
}

interface TreeConversation {
  id: string; activeLeafId: string | null; pinned: boolean; tags: string[]; model: string; systemPrompt: string | null;
  parameters: { temperature: number | null };
  active: { edges: Array<{ node: TreeMessage }> };
  all: { edges: Array<{ node: TreeMessage }> };
}

const TREE = `query Tree($id: ID!) { conversation(id: $id) {
  id activeLeafId pinned tags model systemPrompt parameters { temperature }
  active: messages(first: 100) { edges { node { ${TREE_FIELDS} } } }
  all: messages(first: 100, scope: ALL) { edges { node { ${TREE_FIELDS} } } }
} }`;
const REGENERATE = `mutation Regenerate($conversationId: ID!, $messageId: ID!) {
  regenerateReply(conversationId: $conversationId, messageId: $messageId) { replyId message { id } conversation { id activeLeafId } } }`;
const EDIT = `mutation Edit($conversationId: ID!, $messageId: ID!, $content: String!) {
  editMessage(conversationId: $conversationId, messageId: $messageId, content: $content) { replyId message { ${TREE_FIELDS} } } }`;
const SWITCH = `mutation Switch($conversationId: ID!, $messageId: ID!) {
  switchBranch(conversationId: $conversationId, messageId: $messageId) { id activeLeafId } }`;
const SETTINGS = `mutation Settings($id: ID!, $input: ConversationSettingsInput!) {
  updateConversationSettings(id: $id, input: $input) { id model systemPrompt parameters { temperature topP maxTokens } } }`;
const PIN = 'mutation($id: ID!) { pinConversation(id: $id) { id pinned } }';
const UNPIN = 'mutation($id: ID!) { unpinConversation(id: $id) { id pinned } }';
const TAG = 'mutation($id: ID!, $tag: String!) { tagConversation(id: $id, tag: $tag) { id tags } }';
const UNTAG = 'mutation($id: ID!, $tag: String!) { untagConversation(id: $id, tag: $tag) { id tags } }';
const ARCHIVE = 'mutation($id: ID!) { archiveConversation(id: $id) { id archived } }';
const DELETE = 'mutation($id: ID!) { deleteConversation(id: $id) }';
const ERASE = 'mutation($id: ID!) { eraseUser(id: $id) }';
const LIST = `query List($pinned: Boolean, $tag: String, $first: Int, $after: String) {
  conversations(pinned: $pinned, tag: $tag, first: $first, after: $after) { edges { cursor node { id pinned tags } } pageInfo { hasNextPage endCursor } } }`;
const SEARCH = `query Search($query: String, $tag: String, $archived: Boolean, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  searchConversations(query: $query, tag: $tag, archived: $archived, from: $from, to: $to, first: $first, after: $after) {
    edges { cursor node { titleMatched conversation { id title } matchedMessages { id content } } }
    pageInfo { hasNextPage endCursor }
  } }`;

interface SearchResult {
  searchConversations: {
    edges: Array<{ cursor: string; node: { titleMatched: boolean; conversation: { id: string; title: string }; matchedMessages: Array<{ id: string; content: string }> } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const nodes = (list: { edges: Array<{ node: TreeMessage }> }) => list.edges.map((e) => e.node);

function toolsSuite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  describe(name, () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    let cleanup: () => Promise<void> = async () => {};

    beforeAll(async () => {
      const setup = await env();
      cleanup = setup.cleanup;
      t = await startTestApp({ env: setup.env });
      alice = await newUser(t.yoga);
      bob = await newUser(t.yoga);
    });
    afterAll(async () => {
      await t?.close();
      await cleanup();
    });

    const tree = async (id: string, token = alice.token) => (await ok<{ conversation: TreeConversation }>(t.yoga, TREE, { id }, token)).conversation;

    /** Waits (event-driven polling, generous) until the active branch ends with a finished reply; returns the tree. */
    const settled = (id: string, replyId?: string) => eventually(async () => {
      const c = await tree(id);
      const last = nodes(c.active).at(-1);
      const done = last?.role === 'ASSISTANT' && last.status !== 'STREAMING' && (replyId === undefined || last.id === replyId);
      return done ? c : null;
    }, `the reply${replyId ? ` ${replyId}` : ''} to finish`);

    /** The chat request the fake provider got whose last user message is `content`. */
    const requestFor = (content: string) => t.fake!.requests.findLast((r) => {
      const messages = (r.body as { messages?: Array<{ role: string; content: string }> } | undefined)?.messages;
      return r.path === '/v1/chat/completions' && messages?.at(-1)?.content === content;
    })?.body as { messages: Array<{ role: string; content: string }>; temperature?: number; model: string } | undefined;

    const send = async (conversationId: string, content: string, token = alice.token) =>
      (await ok<{ sendMessage: { id: string } }>(t.yoga, SEND, { conversationId, content }, token)).sendMessage.id;

    it('regenerates a reply as a sibling, edits a message as a sibling, and switches between branches', async () => {
      const c = await startConversation(t.yoga, alice.token, { title: 'Branches', model: 'fake-echo' });
      const m1 = await send(c.id, 'first question');
      const r1 = nodes((await settled(c.id)).active).at(-1)!.id;
      const m2 = await send(c.id, 'second question');
      const r2 = nodes((await settled(c.id)).active).at(-1)!.id;

      // Regenerate r2: a new reply beside it, generated with the path m1, r1, m2 as its prompt.
      const before = t.fake!.requests.length;
      const regenerated = (await ok<{ regenerateReply: { replyId: string; message: { id: string } } }>(
        t.yoga, REGENERATE, { conversationId: c.id, messageId: r2 }, alice.token)).regenerateReply;
      expect(regenerated.message.id).toBe(m2);
      const r2b = regenerated.replyId;
      expect(r2b).not.toBe(r2);
      let view = await settled(c.id, r2b);
      expect(nodes(view.active).map((m) => m.id)).toEqual([m1, r1, m2, r2b]);
      expect(view.activeLeafId).toBe(r2b);
      const newest = nodes(view.active).at(-1)!;
      expect(newest).toMatchObject({ parentId: m2, siblingIds: [r2, r2b], siblingIndex: 1, siblingCount: 2, status: 'COMPLETE' });
      expect(newest.provenance?.inReplyTo).toEqual([m1, r1, m2]);
      const regenRequest = t.fake!.requests.slice(before).find((r) => r.path === '/v1/chat/completions')!.body as { messages: unknown };
      expect(regenRequest.messages).toEqual([
        { role: 'user', content: 'first question' }, { role: 'assistant', content: 'You said: first question' },
        { role: 'user', content: 'second question' },
      ]);
      // The old reply stays: the whole tree has both, and m2 has two children.
      expect(nodes(view.all).map((m) => m.id)).toEqual([m1, r1, m2, r2, r2b]);
      expect(nodes(view.all).find((m) => m.id === m2)!.childIds).toEqual([r2, r2b]);
      expect(nodes(view.all).find((m) => m.id === r2)).toMatchObject({ siblingIndex: 0, siblingCount: 2, content: 'You said: second question' });

      // Switch back to the first reply.
      const feed = await ConversationFeed.open(t, c.id, alice.token);
      let switched: { activeLeafId: string };
      try {
        switched = (await ok<{ switchBranch: { activeLeafId: string } }>(t.yoga, SWITCH, { conversationId: c.id, messageId: r2 }, alice.token)).switchBranch;
        // Other tabs learn of it.
        const events = await feed.collectUntil((e) => e.kind === 'BRANCH_SWITCHED');
        expect(events.at(-1)).toMatchObject({ kind: 'BRANCH_SWITCHED', messageId: r2 });
      } finally {
        await feed.close();
      }
      expect(switched.activeLeafId).toBe(r2);
      expect(nodes((await tree(c.id)).active).map((m) => m.id)).toEqual([m1, r1, m2, r2]);

      // Edit the first message: a sibling of m1, answered with only the edited text in the prompt.
      const edited = (await ok<{ editMessage: { replyId: string; message: TreeMessage } }>(
        t.yoga, EDIT, { conversationId: c.id, messageId: m1, content: 'first question, edited' }, alice.token)).editMessage;
      expect(edited.message).toMatchObject({ role: 'USER', content: 'first question, edited', parentId: null, editOf: m1, siblingIds: [m1, edited.message.id], siblingIndex: 1 });
      view = await settled(c.id, edited.replyId);
      expect(nodes(view.active).map((m) => m.id)).toEqual([edited.message.id, edited.replyId]);
      expect(requestFor('first question, edited')?.messages).toEqual([{ role: 'user', content: 'first question, edited' }]);
      expect(nodes(view.all)).toHaveLength(7);

      // Switching to m1 shows its newest descendants: m1, r1, m2 and the newest reply r2b.
      await ok(t.yoga, SWITCH, { conversationId: c.id, messageId: m1 }, alice.token);
      expect(nodes((await tree(c.id)).active).map((m) => m.id)).toEqual([m1, r1, m2, r2b]);
      // A message sent now follows the active leaf, and its prompt is that branch.
      const m3 = await send(c.id, 'third question');
      view = await settled(c.id);
      expect(nodes(view.active).map((m) => m.id).slice(0, 5)).toEqual([m1, r1, m2, r2b, m3]);
      expect(requestFor('third question')?.messages.map((m) => m.content)).toEqual([
        'first question', 'You said: first question', 'second question', 'You said: second question', 'third question',
      ]);

      // Time travel keeps working with branches: as of the regenerated reply's completion, the active branch ended there.
      const completedAt = (await t.app.store.readStream(conversationStream(c.id)))
        .find((e) => e.type === 'AssistantReplyCompleted' && (e.data as { replyId: string }).replyId === r2b)!.metadata.occurredAt;
      const AS_OF = `query AsOf($id: ID!, $asOf: DateTime) { conversation(id: $id, asOf: $asOf) {
        activeLeafId active: messages(first: 100) { edges { node { ${TREE_FIELDS} } } } all: messages(first: 100, scope: ALL) { edges { node { ${TREE_FIELDS} } } } } }`;
      const then = (await ok<{ conversation: TreeConversation }>(t.yoga, AS_OF, { id: c.id, asOf: completedAt }, alice.token)).conversation;
      expect(then.activeLeafId).toBe(r2b);
      expect(nodes(then.active).map((m) => m.id)).toEqual([m1, r1, m2, r2b]);
      expect(nodes(then.all).map((m) => m.id)).toEqual([m1, r1, m2, r2, r2b]);
      expect(nodes(then.active).at(-1)).toMatchObject({ parentId: m2, siblingIds: [r2, r2b], siblingIndex: 1 });

      // Hostile input: unknown messages, someone else's message ids, a reply "edited".
      expect((await fails(t.yoga, SWITCH, { conversationId: c.id, messageId: 'nope' }, alice.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, REGENERATE, { conversationId: c.id, messageId: 'nope' }, alice.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, EDIT, { conversationId: c.id, messageId: r1, content: 'x' }, alice.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, EDIT, { conversationId: c.id, messageId: m1, content: ' ' }, alice.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, EDIT, { conversationId: c.id, messageId: m1, content: 'a\u0000b' }, alice.token)).code).toBe('BAD_USER_INPUT');

      // The log holds the branch events; the audit rows carry ids, never text.
      const log = await t.app.store.readStream(conversationStream(c.id));
      expect(log.map((e) => e.type)).toEqual(expect.arrayContaining(['ReplyRegenerationRequested', 'ConversationBranchSwitched']));
      const edit = log.find((e) => e.type === 'UserMessageSent' && (e.data as { editedMessageId?: string }).editedMessageId === m1)!;
      expect(edit.schemaVersion).toBe(2);
      const audit = auditRecord(edit);
      expect(audit.summary).toMatchObject({ messageId: edited.message.id, editedMessageId: m1 });
      expect(JSON.stringify(audit.summary)).not.toContain('question');
    });

    it('nobody reaches another person\'s branches: every tool is NOT_FOUND for a stranger', async () => {
      const c = await startConversation(t.yoga, alice.token, { title: 'Private', model: 'fake-echo' });
      const m1 = await send(c.id, 'secret plans');
      const r1 = nodes((await settled(c.id)).active).at(-1)!.id;
      const attempts: Array<[string, Record<string, unknown>]> = [
        [REGENERATE, { conversationId: c.id, messageId: r1 }],
        [EDIT, { conversationId: c.id, messageId: m1, content: 'hijack' }],
        [SWITCH, { conversationId: c.id, messageId: m1 }],
        [SETTINGS, { id: c.id, input: { systemPrompt: 'Leak everything' } }],
        [SETTINGS, { id: c.id, input: {} }],
        [PIN, { id: c.id }], [UNPIN, { id: c.id }], [TAG, { id: c.id, tag: 'mine' }], [UNTAG, { id: c.id, tag: 'mine' }],
        [TREE, { id: c.id }],
      ];
      for (const [query, variables] of attempts) {
        const error = await fails(t.yoga, query, variables, bob.token);
        expect(error.code, query).toBe('NOT_FOUND');
        expect(JSON.stringify(error.result.data ?? null)).not.toContain('secret');
      }
      // Bob's own conversation cannot reach into Alice's tree either (messages are per conversation).
      const own = await startConversation(t.yoga, bob.token, { title: 'Bob', model: 'fake-echo' });
      expect((await fails(t.yoga, SWITCH, { conversationId: own.id, messageId: m1 }, bob.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, REGENERATE, { conversationId: own.id, messageId: r1 }, bob.token)).code).toBe('NOT_FOUND');
      // Without a session: UNAUTHENTICATED.
      expect((await fails(t.yoga, PIN, { id: c.id })).code).toBe('UNAUTHENTICATED');
      // Nothing changed.
      const view = await tree(c.id);
      expect(view).toMatchObject({ pinned: false, tags: [], systemPrompt: null, activeLeafId: r1 });
      expect(nodes(view.all)).toHaveLength(2);
    });

    it('changes model, parameters and system prompt mid-way; each reply records what it used', async () => {
      const c = await startConversation(t.yoga, alice.token, { title: 'Settings', model: 'fake-echo', parameters: { temperature: 0.2 } });
      await send(c.id, 'before the change');
      await settled(c.id);
      const changed = (await ok<{ updateConversationSettings: { model: string; systemPrompt: string; parameters: { temperature: number; topP: number | null } } }>(
        t.yoga, SETTINGS, { id: c.id, input: { model: 'fake-slow', parameters: { temperature: 0.7 }, systemPrompt: 'Answer briefly.' } }, alice.token))
        .updateConversationSettings;
      expect(changed).toMatchObject({ model: 'fake-slow', systemPrompt: 'Answer briefly.', parameters: { temperature: 0.7, topP: null } });
      await send(c.id, 'after the change');
      const view = await settled(c.id);
      const [, first, , second] = nodes(view.active);
      expect(first).toMatchObject({ model: 'fake-echo', parameters: { temperature: 0.2 }, provenance: { systemPromptSha256: null, requestedModel: 'fake-echo' } });
      expect(second).toMatchObject({ model: 'fake-slow', parameters: { temperature: 0.7 }, provenance: { requestedModel: 'fake-slow' } });
      expect(second!.provenance!.systemPromptSha256).toMatch(/^[0-9a-f]{64}$/);
      const request = requestFor('after the change')!;
      expect(request.model).toBe('fake-slow');
      expect(request.temperature).toBe(0.7);
      expect(request.messages[0]).toEqual({ role: 'system', content: 'Answer briefly.' });

      // Removing the system prompt; unchanged settings record nothing.
      const head = await t.app.store.headPosition();
      await ok(t.yoga, SETTINGS, { id: c.id, input: { model: 'fake-slow' } }, alice.token);
      expect(await t.app.store.headPosition()).toBe(head);
      expect((await ok<{ updateConversationSettings: { systemPrompt: string | null } }>(
        t.yoga, SETTINGS, { id: c.id, input: { systemPrompt: '' } }, alice.token)).updateConversationSettings.systemPrompt).toBeNull();

      // Hostile values: out of range, unknown model, control characters.
      expect((await fails(t.yoga, SETTINGS, { id: c.id, input: { parameters: { temperature: 5 } } }, alice.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, SETTINGS, { id: c.id, input: { model: 'gpt-does-not-exist' } }, alice.token)).code).toBe('MODEL_NOT_FOUND');
      expect((await fails(t.yoga, SETTINGS, { id: c.id, input: { model: 'a\nb' } }, alice.token)).code).toBe('BAD_USER_INPUT');

      // The system prompt change is personal: the audit row holds no text.
      const log = await t.app.store.readStream(conversationStream(c.id));
      const prompt = log.find((e) => e.type === 'ConversationSystemPromptChanged')!;
      expect(auditRecord(prompt)).toMatchObject({ personalFields: ['systemPrompt'], subjectId: alice.userId });
      expect(JSON.stringify(auditRecord(prompt).summary)).not.toContain('briefly');
    });

    it('pins and tags conversations, and lists them pinned first and by tag', async () => {
      const user = await newUser(t.yoga);
      const a = await startConversation(t.yoga, user.token, { title: 'A' });
      const b = await startConversation(t.yoga, user.token, { title: 'B' });
      const c = await startConversation(t.yoga, user.token, { title: 'C' });
      expect((await ok<{ pinConversation: { pinned: boolean } }>(t.yoga, PIN, { id: a.id }, user.token)).pinConversation.pinned).toBe(true);
      await ok(t.yoga, PIN, { id: a.id }, user.token); // idempotent
      const list = await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga, LIST, {}, user.token);
      expect(list.conversations.edges.map((e) => e.node.id)).toEqual([a.id, c.id, b.id]);
      // Keyset pages across the pinned / unpinned boundary.
      const page1 = await ok<{ conversations: { edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string } } }>(
        t.yoga, LIST, { first: 1 }, user.token);
      const page2 = await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(
        t.yoga, LIST, { first: 5, after: page1.conversations.pageInfo.endCursor }, user.token);
      expect(page2.conversations.edges.map((e) => e.node.id)).toEqual([c.id, b.id]);
      expect((await ok<{ conversations: { edges: unknown[] } }>(t.yoga, LIST, { pinned: true }, user.token)).conversations.edges).toHaveLength(1);

      expect((await ok<{ tagConversation: { tags: string[] } }>(t.yoga, TAG, { id: b.id, tag: '  Work   stuff ' }, user.token)).tagConversation.tags)
        .toEqual(['Work stuff']);
      expect((await ok<{ tagConversation: { tags: string[] } }>(t.yoga, TAG, { id: b.id, tag: 'work STUFF' }, user.token)).tagConversation.tags)
        .toEqual(['Work stuff']);
      await ok(t.yoga, TAG, { id: b.id, tag: 'travel' }, user.token);
      const tagged = await ok<{ conversations: { edges: Array<{ node: { id: string; tags: string[] } }> } }>(t.yoga, LIST, { tag: 'WORK stuff' }, user.token);
      expect(tagged.conversations.edges.map((e) => e.node)).toEqual([{ id: b.id, pinned: false, tags: ['Work stuff', 'travel'] }]);
      expect((await ok<{ untagConversation: { tags: string[] } }>(t.yoga, UNTAG, { id: b.id, tag: 'work stuff' }, user.token)).untagConversation.tags)
        .toEqual(['travel']);
      expect((await ok<{ unpinConversation: { pinned: boolean } }>(t.yoga, UNPIN, { id: a.id }, user.token)).unpinConversation.pinned).toBe(false);

      // Limits and hostile text.
      expect((await fails(t.yoga, TAG, { id: b.id, tag: 'x'.repeat(41) }, user.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, TAG, { id: b.id, tag: '   ' }, user.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, TAG, { id: b.id, tag: 'a\nb' }, user.token)).code).toBe('BAD_USER_INPUT');
      for (let i = 1; i < MAX_TAGS; i++) await ok(t.yoga, TAG, { id: c.id, tag: `t${i}` }, user.token);
      await ok(t.yoga, TAG, { id: c.id, tag: 'last' }, user.token);
      const tooMany = await fails(t.yoga, TAG, { id: c.id, tag: 'one more' }, user.token);
      expect(tooMany.code).toBe('BAD_USER_INPUT');
      expect(tooMany.message).toContain(String(MAX_TAGS));

      // Tags are personal: sealed, and not in the audit summary.
      const log = await t.app.store.readStream(conversationStream(b.id));
      const tagEvent = log.find((e) => e.type === 'ConversationTagged')!;
      expect(auditRecord(tagEvent).personalFields).toEqual(['tag']);
      expect(JSON.stringify(auditRecord(tagEvent).summary)).not.toContain('Work');

      // The person's data export holds the tags and the tree.
      const exported = (await ok<{ exportMyData: { conversations: Array<{ id: string; tags: string[]; pinned: boolean }>; events: Array<{ type: string }> } }>(
        t.yoga, '{ exportMyData }', {}, user.token)).exportMyData;
      expect(exported.conversations.find((x) => x.id === b.id)).toMatchObject({ tags: ['travel'], pinned: false });
      expect(exported.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ConversationPinned', 'ConversationTagged', 'ConversationUntagged']));
    });

    it('searches only one\'s own conversations, titles and message text, with filters and pages', async () => {
      const carol = await newUser(t.yoga);
      const dave = await newUser(t.yoga);
      const budget = await startConversation(t.yoga, carol.token, { title: 'Quarterly budget', model: 'fake-echo' });
      const zoo = await startConversation(t.yoga, carol.token, { title: 'Zoo visit', model: 'fake-echo' });
      const other = await startConversation(t.yoga, carol.token, { title: 'Other', model: 'fake-echo' });
      await send(zoo.id, 'Where do the zebras sleep?', carol.token);
      await send(other.id, 'Nothing to see here', carol.token);
      const daves = await startConversation(t.yoga, dave.token, { title: 'Zebras and budget', model: 'fake-echo' });
      await send(daves.id, 'zebras budget quarterly', dave.token);
      // Wait until the replies finished (their text is searchable too).
      for (const id of [zoo.id, other.id]) {
        await eventually(async () => {
          const c = (await ok<{ conversation: TreeConversation }>(t.yoga, TREE, { id }, carol.token)).conversation;
          return nodes(c.active).at(-1)?.status === 'COMPLETE' && nodes(c.active).length === 2;
        }, 'replies');
      }
      const search = async (variables: Record<string, unknown>, token = carol.token) =>
        (await ok<SearchResult>(t.yoga, SEARCH, variables, token)).searchConversations;
      const ids = async (variables: Record<string, unknown>, token = carol.token) =>
        (await search(variables, token)).edges.map((e) => e.node.conversation.id);

      const hits = await search({ query: 'zebras' });
      expect(hits.edges.map((e) => e.node.conversation.id)).toEqual([zoo.id]);
      expect(hits.edges[0]!.node.titleMatched).toBe(false);
      // The question and the echoing reply both match.
      expect(hits.edges[0]!.node.matchedMessages.map((m) => m.content)).toEqual(['Where do the zebras sleep?', 'You said: Where do the zebras sleep?']);
      expect(await ids({ query: 'QUARTERLY' })).toEqual([budget.id]);
      expect((await search({ query: 'budget' })).edges[0]!.node.titleMatched).toBe(true);
      expect(await ids({ query: '"zebras sleep"' })).toEqual([zoo.id]);
      expect(await ids({ query: 'zebras -sleep' })).toEqual([]);
      expect(await ids({ query: 'budget OR zebras' })).toEqual([zoo.id, budget.id]);
      // Hostile syntax never errors.
      expect(await ids({ query: '!!! & | ( :* "' })).toEqual([]);
      expect((await fails(t.yoga, SEARCH, { query: 'a\u0000b' }, carol.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, SEARCH, { query: 'x'.repeat(501) }, carol.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, SEARCH, { query: 'x', after: 'garbage' }, carol.token)).code).toBe('BAD_USER_INPUT');

      // Dave never sees Carol's conversations, nor she his.
      expect(await ids({ query: 'zebras' }, dave.token)).toEqual([daves.id]);
      expect(await ids({ query: 'quarterly' }, dave.token)).toEqual([daves.id]);
      expect(await ids({}, dave.token)).toEqual([daves.id]);
      expect((await fails(t.yoga, SEARCH, { query: 'zebras' })).code).toBe('UNAUTHENTICATED');

      // Filters: tag, archived, dates; no query lists with filters only.
      await ok(t.yoga, TAG, { id: zoo.id, tag: 'Animals' }, carol.token);
      expect(await ids({ tag: 'animals' })).toEqual([zoo.id]);
      expect(await ids({ query: 'budget', tag: 'animals' })).toEqual([]);
      await ok(t.yoga, ARCHIVE, { id: budget.id }, carol.token);
      expect(await ids({ query: 'budget', archived: false })).toEqual([]);
      expect(await ids({ query: 'budget', archived: true })).toEqual([budget.id]);
      expect(await ids({ query: 'budget' })).toEqual([budget.id]);
      expect(await ids({ from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
      expect(await ids({ to: new Date(Date.now() - 3_600_000).toISOString() })).toEqual([]);
      expect((await ids({ from: new Date(Date.now() - 3_600_000).toISOString() })).sort()).toEqual([budget.id, zoo.id, other.id].sort());

      // Relay pages, no repeats.
      const first = await search({ first: 2 });
      expect(first.edges).toHaveLength(2);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const rest = await search({ first: 2, after: first.pageInfo.endCursor });
      expect([...first.edges, ...rest.edges].map((e) => e.node.conversation.id).sort()).toEqual([budget.id, zoo.id, other.id].sort());
      expect(rest.pageInfo.hasNextPage).toBe(false);

      // A deleted conversation leaves the results.
      await ok(t.yoga, DELETE, { id: zoo.id }, carol.token);
      expect(await ids({ query: 'zebras' })).toEqual([]);

      // An erased person's text is no longer searchable anywhere: their rows, and so their index entries, are gone.
      await ok(t.yoga, ERASE, { id: dave.userId }, dave.token);
      const left = await t.app.readDb.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM messages WHERE content_tsv @@ to_tsquery('simple', 'zebras'))::int
              + (SELECT count(*) FROM conversations WHERE title_tsv @@ to_tsquery('simple', 'zebras'))::int AS n`);
      expect(left.rows[0]!.n).toBe(0);
    });
  });
}

toolsSuite('GraphQL conversation tools (PGlite)', async () => ({ env: {}, cleanup: async () => {} }));

describe.skipIf(!process.env.DATABASE_URL)('on PostgreSQL', () => {
  toolsSuite('GraphQL conversation tools (PostgreSQL)', async () => {
    const database: TestDatabase = await createTestDatabase();
    return { env: { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') }, cleanup: () => database.drop() };
  });
});
