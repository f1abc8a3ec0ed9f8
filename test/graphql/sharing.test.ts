// Share links through the GraphQL API: a read-only snapshot readable without an account, revocable,
// expiring; authorisation; audit and data export.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/infra/passwords.ts';
import {
  ConversationFeed, eventsJson, eventually, fails, gql, newUser, ok, readWholeLog, SEND, startConversation, startTestApp, TERMINAL_KINDS,
  type TestApp, type TestUser,
} from './support.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

const SHARE = `mutation Share($id: ID!, $expiresAt: DateTime) {
  shareConversation(conversationId: $id, expiresAt: $expiresAt) { token share { id conversationId createdAt expiresAt expired } }
}`;
const REVOKE = 'mutation Revoke($id: ID!) { revokeShare(id: $id) }';
const SHARES = 'query Shares($id: ID!) { conversationShares(conversationId: $id) { id conversationId expiresAt expired } }';
const SHARED = `query Shared($token: String!) {
  sharedConversation(token: $token) { title model sharedAt expiresAt messages { role content status model createdAt citedSources } }
}`;
const DELETE = 'mutation Delete($id: ID!) { deleteConversation(id: $id) }';
const MY_ACTIVITY = '{ myActivity(first: 100) { edges { node { type stream summary personalFields } } } }';

interface ShareResult { shareConversation: { token: string; share: { id: string; conversationId: string; createdAt: string; expiresAt: string | null; expired: boolean } } }
interface SharedResult { sharedConversation: { title: string; model: string; sharedAt: string; expiresAt: string | null; messages: Array<{ role: string; content: string; status: string }> } }

const BACKENDS = [{ name: 'SQLite + PGlite', postgres: false }, ...(process.env.DATABASE_URL ? [{ name: 'PostgreSQL', postgres: true }] : [])];

describe.each(BACKENDS)('GraphQL share links ($name)', ({ postgres }) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  let database: TestDatabase | undefined;

  beforeAll(async () => {
    database = postgres ? await createTestDatabase() : undefined;
    t = await startTestApp({ env: database ? { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') } : {} });
    alice = await newUser(t.yoga);
    bob = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  /** A conversation of `user` with one question answered. */
  async function answered(user: TestUser, question: string, title = 'Shared chat') {
    const conversation = await startConversation(t.yoga, user.token, { title, systemPrompt: 'secret instructions' });
    // On a loaded machine the start may answer as pending: the feed needs the read model to show it.
    await eventually(async () => (await gql(t.yoga, 'query ($id: ID!) { conversation(id: $id) { id } }', { id: conversation.id }, user.token)).data?.conversation,
      'the conversation in the read model');
    const feed = await ConversationFeed.open(t, conversation.id, user.token);
    try {
      await ok(t.yoga, SEND, { conversationId: conversation.id, content: question }, user.token);
      const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
      expect(terminal.kind).toBe('REPLY_COMPLETED');
    } finally {
      await feed.close();
    }
    // The read model shows the reply (the subscription may be ahead of the projection).
    await eventually(async () => (await ok<{ conversation: { messageCount: number } }>(t.yoga, 'query ($id: ID!) { conversation(id: $id) { messageCount } }',
      { id: conversation.id }, user.token)).conversation.messageCount === 2, 'the reply in the read model');
    return conversation.id;
  }
  const share = async (id: string, user = alice, expiresAt?: string) => (await ok<ShareResult>(t.yoga, SHARE, { id, expiresAt }, user.token)).shareConversation;

  it('shows the branch the owner was on: other branches of the message tree stay private', async () => {
    const id = await answered(alice, 'Which branch?');
    const { conversation } = await ok<{ conversation: { messages: { edges: Array<{ node: { id: string; role: string } }> } } }>(t.yoga,
      'query ($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node { id role } } } } }', { id }, alice.token);
    const first = conversation.messages.edges.find((e) => e.node.role === 'ASSISTANT')!.node.id;
    const feed = await ConversationFeed.open(t, id, alice.token);
    try {
      await ok(t.yoga, 'mutation ($c: ID!, $m: ID!) { regenerateReply(conversationId: $c, messageId: $m) { replyId } }', { c: id, m: first }, alice.token);
      expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_COMPLETED');
    } finally {
      await feed.close();
    }
    // Back on the first reply's branch, then shared: the regenerated sibling is not in the snapshot.
    await ok(t.yoga, 'mutation ($c: ID!, $m: ID!) { switchBranch(conversationId: $c, messageId: $m) { activeLeafId } }', { c: id, m: first }, alice.token);
    const link = await share(id);
    const seen = (await ok<SharedResult>(t.yoga, SHARED, { token: link.token }, null)).sharedConversation;
    expect(seen.messages.map((m) => m.role)).toEqual(['USER', 'ASSISTANT']);
  });

  it('shows a snapshot of the conversation as it was when shared, to anyone, without an account', async () => {
    const id = await answered(alice, 'What is a share link?');
    const link = await share(id);
    expect(link.token).toMatch(/^evs_[A-Za-z0-9_-]{43}$/);
    expect(link.share).toMatchObject({ conversationId: id, expiresAt: null, expired: false });

    // Later messages and a rename are not part of the snapshot.
    await ok(t.yoga, SEND, { conversationId: id, content: 'A later, private question' }, alice.token);
    await ok(t.yoga, 'mutation ($id: ID!) { renameConversation(id: $id, title: "Renamed later") { id } }', { id }, alice.token);

    const seen = (await ok<SharedResult>(t.yoga, SHARED, { token: link.token }, null)).sharedConversation;
    expect(seen).toMatchObject({ title: 'Shared chat', model: 'fake-echo', expiresAt: null, sharedAt: link.share.createdAt });
    expect(seen.messages.map((m) => [m.role, m.content, m.status])).toEqual([
      ['USER', 'What is a share link?', 'complete'], ['ASSISTANT', 'You said: What is a share link?', 'complete'],
    ]);
    // Nothing else of the owner's: no system prompt, no owner, no ids.
    const raw = (await gql(t.yoga, SHARED, { token: link.token }, null)).raw;
    expect(raw).not.toContain('secret instructions');
    expect(raw).not.toContain(alice.userId);
    expect(raw).not.toContain('later, private');
    // Anyone logged in sees the same.
    expect((await ok<SharedResult>(t.yoga, SHARED, { token: link.token }, bob.token)).sharedConversation.title).toBe('Shared chat');
    // The token is not kept: only its hash is in the log.
    const log = eventsJson(await readWholeLog(t.app.store));
    expect(log).not.toContain(link.token);
    expect(log).toContain(hashToken(link.token));
  });

  it('answers the same NOT_FOUND for unknown, malformed, revoked and expired tokens', async () => {
    const id = await answered(alice, 'revocable?');
    const link = await share(id);
    const expectGone = async (token: string) => {
      const error = await fails(t.yoga, SHARED, { token }, null);
      expect(error.code, token).toBe('NOT_FOUND');
      expect(error.message).toBe('Shared conversation not found');
    };
    await expectGone(`evs_${'A'.repeat(43)}`);
    await expectGone('not-a-token');
    await expectGone(link.token.slice(0, -1));
    expect((await fails(t.yoga, SHARED, { token: 'x'.repeat(201) }, null)).code).toBe('BAD_USER_INPUT');

    expect((await ok<{ conversationShares: unknown[] }>(t.yoga, SHARES, { id }, alice.token)).conversationShares).toHaveLength(1);
    expect((await ok<{ revokeShare: string }>(t.yoga, REVOKE, { id: link.share.id }, alice.token)).revokeShare).toBe(link.share.id);
    await expectGone(link.token);
    // Revoking again changes nothing; the list no longer holds it.
    expect((await ok<{ revokeShare: string }>(t.yoga, REVOKE, { id: link.share.id }, alice.token)).revokeShare).toBe(link.share.id);
    expect((await ok<{ conversationShares: unknown[] }>(t.yoga, SHARES, { id }, alice.token)).conversationShares).toEqual([]);

    // An expiring link works until its time, then answers as if it never existed.
    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = await share(id, alice, soon);
    expect(expiring.share.expiresAt).toBe(soon);
    expect((await ok<SharedResult>(t.yoga, SHARED, { token: expiring.token }, null)).sharedConversation.expiresAt).toBe(soon);
    await eventually(async () => (await gql(t.yoga, SHARED, { token: expiring.token }, null)).errors?.[0]?.extensions?.code === 'NOT_FOUND',
      'the link to expire');
    await expectGone(expiring.token);
    const listed = (await ok<{ conversationShares: Array<{ id: string; expired: boolean }> }>(t.yoga, SHARES, { id }, alice.token)).conversationShares;
    expect(listed).toEqual([expect.objectContaining({ id: expiring.share.id, expired: true })]);
  });

  it('refuses expiry times in the past or too far ahead', async () => {
    const id = await answered(alice, 'when?');
    expect((await fails(t.yoga, SHARE, { id, expiresAt: new Date(Date.now() - 60_000).toISOString() }, alice.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(t.yoga, SHARE, { id, expiresAt: new Date(Date.now() + 400 * 86_400_000).toISOString() }, alice.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(t.yoga, SHARE, { id, expiresAt: 'soon' }, alice.token)).code).toBe('BAD_USER_INPUT');
  });

  it("lets nobody share, list or revoke someone else's conversation or share (NOT_FOUND), nor anonymously", async () => {
    const id = await answered(alice, 'mine only');
    const link = await share(id);
    expect((await fails(t.yoga, SHARE, { id }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(t.yoga, SHARE, { id: '01a215be-0000-7000-8000-000000000000' }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(t.yoga, SHARES, { id }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(t.yoga, REVOKE, { id: link.share.id }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(t.yoga, SHARE, { id }, null)).code).toBe('UNAUTHENTICATED');
    expect((await fails(t.yoga, REVOKE, { id: link.share.id }, null)).code).toBe('UNAUTHENTICATED');
    // The link still works: Bob's attempts changed nothing, and the link gives read access only to the snapshot.
    expect((await ok<SharedResult>(t.yoga, SHARED, { token: link.token }, null)).sharedConversation.messages).toHaveLength(2);
    expect((await fails(t.yoga, 'query ($id: ID!) { conversation(id: $id) { id } }', { id }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(t.yoga, SEND, { conversationId: id, content: 'let me in' }, bob.token)).code).toBe('NOT_FOUND');
  });

  it('dies with the conversation, and with its owner when they are erased', async () => {
    const id = await answered(alice, 'to be deleted');
    const link = await share(id);
    await ok(t.yoga, DELETE, { id }, alice.token);
    expect((await fails(t.yoga, SHARED, { token: link.token }, null)).code).toBe('NOT_FOUND');

    const carol = await newUser(t.yoga);
    const carols = await answered(carol, 'to be erased');
    const carolLink = await share(carols, carol);
    expect((await ok<SharedResult>(t.yoga, SHARED, { token: carolLink.token }, null)).sharedConversation.messages).toHaveLength(2);
    await ok(t.yoga, 'mutation ($id: ID!) { eraseUser(id: $id) }', { id: carol.userId }, carol.token);
    expect((await fails(t.yoga, SHARED, { token: carolLink.token }, null)).code).toBe('NOT_FOUND');
    const { rows } = await t.app.readDb.query('SELECT * FROM conversation_shares WHERE owner_id = $1', [carol.userId]);
    expect(rows).toEqual([]);
  });

  it('records shared and revoked in the audit log (ids and times only) and in the owner\'s data export, hash withheld', async () => {
    const id = await answered(alice, 'audited');
    const link = await share(id);
    await ok(t.yoga, REVOKE, { id: link.share.id }, alice.token);
    const kept = await share(id);
    const activity = (await ok<{ myActivity: { edges: Array<{ node: { type: string; stream: string; summary: Record<string, unknown>; personalFields: string[] } }> } }>(
      t.yoga, MY_ACTIVITY, {}, alice.token)).myActivity.edges.map((e) => e.node);
    const sharedEvent = activity.find((a) => a.type === 'ConversationShared' && a.summary.shareId === link.share.id)!;
    expect(sharedEvent).toMatchObject({ stream: `conversation-share-${link.share.id}`, personalFields: [] });
    expect(sharedEvent.summary).toEqual({ shareId: link.share.id, conversationId: id, ownerId: alice.userId, conversationRevision: expect.any(Number) });
    expect(activity.find((a) => a.type === 'ConversationShareRevoked')?.summary).toEqual({ shareId: link.share.id, conversationId: id, ownerId: alice.userId });

    const exported = (await ok<{ exportMyData: { conversationShares: unknown[]; events: Array<{ type: string; data?: Record<string, unknown> }> } }>(
      t.yoga, '{ exportMyData }', {}, alice.token)).exportMyData;
    expect(exported.conversationShares).toContainEqual({ id: kept.share.id, conversationId: id, createdAt: kept.share.createdAt, expiresAt: null });
    expect(exported.conversationShares).not.toContainEqual(expect.objectContaining({ id: link.share.id }));
    const event = exported.events.find((e) => e.type === 'ConversationShared' && e.data?.shareId === kept.share.id)!;
    expect(event.data!.tokenHash).toBe('[withheld: a secret hash]');
    expect(JSON.stringify(exported)).not.toContain(kept.token);
  });
});
