import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  eventsJson, eventually, fails, gql, newUser, ok, readWholeLog, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from './support.ts';

const CREATE = `mutation Create($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(name: $name, scopes: $scopes) { key apiKey { id name prefix scopes active createdAt revokedAt lastUsedAt } }
}`;
const REVOKE = 'mutation Revoke($id: ID!) { revokeApiKey(id: $id) { id active revokedAt } }';
const MY_KEYS = 'query Keys($all: Boolean) { myApiKeys(includeRevoked: $all) { id name prefix scopes active lastUsedAt } }';
const CONVERSATIONS = '{ conversations(first: 5) { edges { node { id } } } }';
const MY_USAGE = `query Usage($from: String!, $to: String!) {
  myUsage(from: $from, to: $to) { from to requests totalTokens entries { userId day model requests promptTokens completionTokens totalTokens } }
}`;
const USAGE = `query Usage($userId: ID, $from: String!, $to: String!) {
  usage(userId: $userId, from: $from, to: $to) { requests totalTokens entries { userId model requests totalTokens } }
}`;
const SET_QUOTA = 'mutation Quota($userId: ID!, $n: Int) { setTokenQuota(userId: $userId, tokensPerDay: $n) { userId tokensPerDay usedToday } }';

const today = () => new Date().toISOString().slice(0, 10);

interface CreatedKey { key: string; apiKey: { id: string; name: string; prefix: string; scopes: string[]; active: boolean; lastUsedAt: string | null } }

async function createKey(t: TestApp, user: TestUser, scopes: string[], name = 'my script'): Promise<CreatedKey> {
  return (await ok<{ createApiKey: CreatedKey }>(t.yoga, CREATE, { name, scopes }, user.token)).createApiKey;
}

/** Sends a message and waits until its reply is completed. */
async function sendAndWait(t: TestApp, token: string, conversationId: string, content: string): Promise<void> {
  await ok(t.yoga, SEND, { conversationId, content }, token);
  await eventually(async () => {
    const { rows } = await t.app.readDb.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND role = 'assistant' AND status = 'complete'`, [conversationId]);
    return rows[0]!.n > 0;
  }, 'the reply to complete');
}

function suite(name: string, env: () => Promise<{ env: Record<string, string>; cleanup(): Promise<void> }>) {
  describe(name, () => {
    let t: TestApp;
    let cleanup: () => Promise<void>;
    let admin: TestUser;
    let alice: TestUser;
    let bob: TestUser;

    beforeAll(async () => {
      const setup = await env();
      cleanup = setup.cleanup;
      t = await startTestApp({ env: setup.env });
      admin = await newUser(t.yoga);
      alice = await newUser(t.yoga);
      bob = await newUser(t.yoga);
      expect(admin.role).toBe('admin');
      expect(alice.role).toBe('member');
    });
    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    it('creates a key shown once, stores only its hash, and lets it authenticate as Bearer', async () => {
      const created = await createKey(t, alice, ['read']);
      expect(created.key).toMatch(/^evk_[A-Za-z0-9_-]{43}$/);
      expect(created.key.startsWith(created.apiKey.prefix)).toBe(true);
      expect(created.apiKey).toMatchObject({ name: 'my script', scopes: ['read'], active: true, lastUsedAt: null });

      const listed = (await ok<{ myApiKeys: Array<Record<string, unknown>> }>(t.yoga, MY_KEYS, {}, alice.token)).myApiKeys;
      expect(listed.map((k) => k.id)).toContain(created.apiKey.id);
      expect(JSON.stringify(listed)).not.toContain(created.key);

      // The log and the read model hold the hash, never the key.
      expect(eventsJson(await readWholeLog(t.app.store))).not.toContain(created.key);
      const { rows } = await t.app.readDb.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE key_id = $1', [created.apiKey.id]);
      expect(JSON.stringify(rows)).not.toContain(created.key);

      const me = await ok<{ me: { id: string } }>(t.yoga, '{ me { id } }', {}, created.key);
      expect(me.me.id).toBe(alice.userId);
      await eventually(async () => {
        const keys = (await ok<{ myApiKeys: Array<{ id: string; lastUsedAt: string | null }> }>(t.yoga, MY_KEYS, {}, alice.token)).myApiKeys;
        return keys.find((k) => k.id === created.apiKey.id)?.lastUsedAt;
      }, 'the last use to be recorded');
    });

    it('refuses a key that was never issued, or a made-up one', async () => {
      const forged = `evk_${randomBytes(32).toString('base64url')}`;
      expect((await fails(t.yoga, CONVERSATIONS, {}, forged)).code).toBe('UNAUTHENTICATED');
    });

    it('limits a key to its scopes: a read key reads but cannot send messages or change documents', async () => {
      const conversation = await startConversation(t.yoga, alice.token, { title: 'for keys' });
      const read = await createKey(t, alice, ['read']);
      const listed = await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga, CONVERSATIONS, {}, read.key);
      expect(listed.conversations.edges.map((e) => e.node.id)).toContain(conversation.id);

      const send = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'hello' }, read.key);
      expect(send.code).toBe('FORBIDDEN');
      expect(send.result.raw).toContain('chat');
      expect((await fails(t.yoga, 'mutation { startConversation { id } }', {}, read.key)).code).toBe('FORBIDDEN');
      expect((await fails(t.yoga, 'mutation { createKnowledgeBase(name: "kb") { id } }', {}, read.key)).code).toBe('FORBIDDEN');
      // Nothing was recorded for the refused message.
      const messages = await t.app.readDb.query('SELECT 1 FROM messages WHERE conversation_id = $1', [conversation.id]);
      expect(messages.rows).toHaveLength(0);
    });

    it('lets a chat key send messages, but not read without the read scope, nor hide a mutation behind a fragment', async () => {
      const conversation = await startConversation(t.yoga, alice.token);
      const chat = await createKey(t, alice, ['chat']);
      await sendAndWait(t, chat.key, conversation.id, 'hello through a key');
      expect((await fails(t.yoga, CONVERSATIONS, {}, chat.key)).code).toBe('FORBIDDEN');
      const sneaky = await fails(t.yoga, 'mutation { ...M } fragment M on Mutation { createKnowledgeBase(name: "x") { id } }', {}, chat.key);
      expect(sneaky.code).toBe('FORBIDDEN');
    });

    it('never lets a key manage keys, passwords or erasure: those need a login session', async () => {
      const all = await createKey(t, alice, ['read', 'chat', 'documents']);
      expect((await fails(t.yoga, CREATE, { name: 'minted', scopes: ['read'] }, all.key)).code).toBe('FORBIDDEN');
      expect((await fails(t.yoga, REVOKE, { id: all.apiKey.id }, all.key)).code).toBe('FORBIDDEN');
      expect((await fails(t.yoga, 'mutation { changePassword(currentPassword: "a", newPassword: "bbbbbbbbbbbb") { token } }', {}, all.key)).code)
        .toBe('FORBIDDEN');
      expect((await fails(t.yoga, 'mutation E($id: ID!) { eraseUser(id: $id) }', { id: alice.userId }, all.key)).code).toBe('FORBIDDEN');
    });

    it('gives admin fields only to admin-scoped keys of admins', async () => {
      expect((await fails(t.yoga, CREATE, { name: 'admin?', scopes: ['admin'] }, alice.token)).code).toBe('FORBIDDEN');
      const adminRead = await createKey(t, admin, ['read']);
      expect((await fails(t.yoga, '{ auditLog(first: 1) { edges { node { type } } } }', {}, adminRead.key)).code).toBe('FORBIDDEN');
      expect((await fails(t.yoga, USAGE, { from: today(), to: today() }, adminRead.key)).code).toBe('FORBIDDEN');
      const adminKey = await createKey(t, admin, ['read', 'admin']);
      await ok(t.yoga, '{ auditLog(first: 1) { edges { node { type } } } }', {}, adminKey.key);
      await ok(t.yoga, USAGE, { from: today(), to: today() }, adminKey.key);
    });

    it('revokes a key at once; only its owner (or an admin) can, and nobody sees anyone else\'s keys', async () => {
      const key = await createKey(t, alice, ['read']);
      await ok(t.yoga, CONVERSATIONS, {}, key.key);

      const bobsKeys = (await ok<{ myApiKeys: Array<{ id: string }> }>(t.yoga, MY_KEYS, { all: true }, bob.token)).myApiKeys;
      expect(bobsKeys.map((k) => k.id)).not.toContain(key.apiKey.id);
      expect((await fails(t.yoga, REVOKE, { id: key.apiKey.id }, bob.token)).code).toBe('NOT_FOUND');
      await ok(t.yoga, CONVERSATIONS, {}, key.key); // still works

      const revoked = await ok<{ revokeApiKey: { active: boolean; revokedAt: string | null } }>(t.yoga, REVOKE, { id: key.apiKey.id }, alice.token);
      expect(revoked.revokeApiKey).toMatchObject({ active: false });
      expect(revoked.revokeApiKey.revokedAt).not.toBeNull();
      expect((await fails(t.yoga, CONVERSATIONS, {}, key.key)).code).toBe('UNAUTHENTICATED');
      // Again: nothing changes.
      await ok(t.yoga, REVOKE, { id: key.apiKey.id }, alice.token);
      const active = (await ok<{ myApiKeys: Array<{ id: string }> }>(t.yoga, MY_KEYS, {}, alice.token)).myApiKeys;
      expect(active.map((k) => k.id)).not.toContain(key.apiKey.id);

      const other = await createKey(t, bob, ['read']);
      await ok(t.yoga, REVOKE, { id: other.apiKey.id }, admin.token);
      expect((await fails(t.yoga, CONVERSATIONS, {}, other.key)).code).toBe('UNAUTHENTICATED');
    });

    it('makes the keys of a deactivated or erased owner useless', async () => {
      const carol = await newUser(t.yoga);
      const key = await createKey(t, carol, ['read']);
      await ok(t.yoga, CONVERSATIONS, {}, key.key);
      await ok(t.yoga, 'mutation D($id: ID!) { deactivateUser(id: $id) { id } }', { id: carol.userId }, admin.token);
      expect((await fails(t.yoga, CONVERSATIONS, {}, key.key)).code).toBe('UNAUTHENTICATED');

      const dave = await newUser(t.yoga);
      const daveKey = await createKey(t, dave, ['read']);
      await ok(t.yoga, 'mutation E($id: ID!) { eraseUser(id: $id) }', { id: dave.userId }, dave.token);
      expect((await fails(t.yoga, CONVERSATIONS, {}, daveKey.key)).code).toBe('UNAUTHENTICATED');
      const { rows } = await t.app.readDb.query('SELECT 1 FROM api_keys WHERE owner_id = $1', [dave.userId]);
      expect(rows).toHaveLength(0);
    });

    it('shows key events in the audit log without names or hashes, and keys in the owner\'s export without hashes', async () => {
      const erin = await newUser(t.yoga);
      const key = await createKey(t, erin, ['read', 'chat'], 'erin-secret-label');
      await ok(t.yoga, REVOKE, { id: key.apiKey.id }, erin.token);
      const audit = await ok<{ auditLog: { edges: Array<{ node: { type: string; summary: Record<string, unknown>; subjectId: string | null } }> } }>(t.yoga,
        `query A($id: ID!) { auditLog(first: 50, filter: { subjectId: $id, types: ["ApiKeyCreated", "ApiKeyRevoked"] }) { edges { node { type summary subjectId } } } }`,
        { id: erin.userId }, admin.token);
      const nodes = audit.auditLog.edges.map((e) => e.node);
      expect(nodes.map((n) => n.type)).toEqual(['ApiKeyCreated', 'ApiKeyRevoked']);
      expect(nodes[0]!.summary).toMatchObject({ keyId: key.apiKey.id, ownerId: erin.userId });
      expect(nodes[1]!.summary).toMatchObject({ keyId: key.apiKey.id, reason: 'owner' });
      const raw = JSON.stringify(nodes);
      expect(raw).not.toContain('erin-secret-label');
      expect(raw).not.toMatch(/[0-9a-f]{64}/);

      const exported = (await ok<{ exportMyData: { apiKeys: Array<Record<string, unknown>>; events: Array<Record<string, unknown>> } }>(
        t.yoga, '{ exportMyData }', {}, erin.token)).exportMyData;
      expect(exported.apiKeys).toEqual([expect.objectContaining({ id: key.apiKey.id, name: 'erin-secret-label', scopes: ['read', 'chat'], prefix: key.apiKey.prefix })]);
      expect(exported.apiKeys[0]!.revokedAt).not.toBeNull();
      const { rows } = await t.app.readDb.query<{ token_hash: string }>('SELECT token_hash FROM api_keys WHERE key_id = $1', [key.apiKey.id]);
      expect(JSON.stringify(exported)).not.toContain(rows[0]!.token_hash);
      expect(JSON.stringify(exported)).not.toContain(key.key);
    });

    it('counts requests and tokens per person, model and day, for themselves and for admins only', async () => {
      const frank = await newUser(t.yoga);
      const conversation = await startConversation(t.yoga, frank.token);
      await sendAndWait(t, frank.token, conversation.id, 'count my tokens please');
      const mine = await eventually(async () => {
        const usage = (await ok<{ myUsage: { requests: number; totalTokens: number; entries: Array<Record<string, unknown>> } }>(
          t.yoga, MY_USAGE, { from: today(), to: today() }, frank.token)).myUsage;
        return usage.totalTokens > 0 ? usage : null;
      }, 'usage to show the reply');
      expect(mine.requests).toBe(1);
      expect(mine.entries).toEqual([expect.objectContaining({ userId: frank.userId, day: today(), model: 'fake-echo', requests: 1 })]);
      const entry = mine.entries[0] as { promptTokens: number; completionTokens: number; totalTokens: number };
      expect(entry.totalTokens).toBe(entry.promptTokens + entry.completionTokens);

      // Nobody else's usage: a member gets only their own, and cannot ask for anyone's.
      const bobs = (await ok<{ myUsage: { entries: Array<{ userId: string }> } }>(t.yoga, MY_USAGE, { from: today(), to: today() }, bob.token)).myUsage;
      expect(bobs.entries.every((e) => e.userId === bob.userId)).toBe(true);
      expect((await fails(t.yoga, USAGE, { userId: frank.userId, from: today(), to: today() }, bob.token)).code).toBe('FORBIDDEN');
      const forAdmin = (await ok<{ usage: { requests: number; entries: Array<{ userId: string }> } }>(
        t.yoga, USAGE, { userId: frank.userId, from: today(), to: today() }, admin.token)).usage;
      expect(forAdmin.requests).toBe(1);
      expect(forAdmin.entries.every((e) => e.userId === frank.userId)).toBe(true);

      expect((await fails(t.yoga, MY_USAGE, { from: today(), to: '2000-01-01' }, frank.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(t.yoga, MY_USAGE, { from: 'yesterday', to: today() }, frank.token)).code).toBe('BAD_USER_INPUT');
    });

    it('enforces a daily token quota set by an admin with QUOTA_EXCEEDED, before anything is recorded', async () => {
      const gina = await newUser(t.yoga);
      const conversation = await startConversation(t.yoga, gina.token);
      expect((await fails(t.yoga, SET_QUOTA, { userId: gina.userId, n: 5 }, gina.token)).code).toBe('FORBIDDEN');
      await sendAndWait(t, gina.token, conversation.id, 'one reply before the quota');
      await eventually(async () => {
        const usage = (await ok<{ myUsage: { totalTokens: number } }>(t.yoga, MY_USAGE, { from: today(), to: today() }, gina.token)).myUsage;
        return usage.totalTokens > 0;
      }, 'usage to show the reply');

      const set = await ok<{ setTokenQuota: { tokensPerDay: number; usedToday: number } }>(t.yoga, SET_QUOTA, { userId: gina.userId, n: 1 }, admin.token);
      expect(set.setTokenQuota.tokensPerDay).toBe(1);
      expect(set.setTokenQuota.usedToday).toBeGreaterThanOrEqual(1);
      const refused = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'over the quota' }, gina.token);
      expect(refused.code).toBe('QUOTA_EXCEEDED');
      expect(refused.message).toMatch(/quota/);
      // Regenerating a reply and editing a message ask the provider too: refused alike.
      const { conversation: shown } = await ok<{ conversation: { messages: { edges: Array<{ node: { id: string; role: string } }> } } }>(t.yoga,
        'query($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node { id role } } } } }', { id: conversation.id }, gina.token);
      const first = shown.messages.edges.find((e) => e.node.role === 'USER')!.node.id;
      expect((await fails(t.yoga, 'mutation($c: ID!, $m: ID!) { regenerateReply(conversationId: $c, messageId: $m) { message { id } } }',
        { c: conversation.id, m: first }, gina.token)).code).toBe('QUOTA_EXCEEDED');
      expect((await fails(t.yoga, 'mutation($c: ID!, $m: ID!) { editMessage(conversationId: $c, messageId: $m, content: "edited") { message { id } } }',
        { c: conversation.id, m: first }, gina.token)).code).toBe('QUOTA_EXCEEDED');
      const log = await readWholeLog(t.app.store);
      expect(log.filter((e) => e.type === 'UserMessageSent' && (e.data as { conversationId: string }).conversationId === conversation.id)).toHaveLength(1);
      expect(log.some((e) => e.type === 'ReplyRegenerationRequested' && (e.data as { conversationId: string }).conversationId === conversation.id)).toBe(false);
      expect(log.some((e) => e.type === 'UserTokenQuotaSet' && (e.data as { userId: string }).userId === gina.userId)).toBe(true);
      const mine = await ok<{ myTokenQuota: { tokensPerDay: number | null } }>(t.yoga, '{ myTokenQuota { tokensPerDay usedToday } }', {}, gina.token);
      expect(mine.myTokenQuota.tokensPerDay).toBe(1);

      await ok(t.yoga, SET_QUOTA, { userId: gina.userId, n: null }, admin.token);
      await sendAndWait(t, gina.token, conversation.id, 'quota lifted');
      expect((await gql(t.yoga, SET_QUOTA, { userId: gina.userId, n: -1 }, admin.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });
}

suite('API keys, usage and quotas (PGlite)', async () => ({ env: {}, cleanup: async () => {} }));

describe.skipIf(!process.env.DATABASE_URL)('API keys across two instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') };
    a = await startTestApp({ env });
    b = await startTestApp({ env });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await database?.drop();
  });

  it('a key revoked on one instance is refused by the other at once', async () => {
    const user = await newUser(a.yoga);
    const created = (await ok<{ createApiKey: CreatedKey }>(a.yoga, CREATE, { name: 'shared', scopes: ['read'] }, user.token)).createApiKey;
    await ok(b.yoga, CONVERSATIONS, {}, created.key);
    await ok(a.yoga, REVOKE, { id: created.apiKey.id }, user.token);
    expect((await fails(b.yoga, CONVERSATIONS, {}, created.key)).code).toBe('UNAUTHENTICATED');
  });
});

describe.skipIf(!process.env.DATABASE_URL)('on PostgreSQL', () => {
  suite('API keys, usage and quotas (PostgreSQL)', async () => {
    const database: TestDatabase = await createTestDatabase();
    return {
      env: { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') },
      cleanup: () => database.drop(),
    };
  });
});
