// Several AI providers at once (OpenAI-compatible, Anthropic, Gemini, Ollama native), each on a loopback
// server speaking its wire protocol; runtime API keys set by admins.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSummary } from '../../src/projections/audit-projection.ts';
import { startFakeProviderServer } from '../support/fake-provider-servers.ts';
import type { FakeProviderServer } from '../support/fake-provider-servers.ts';
import {
  ConversationFeed, eventsJson, eventually, fails, getConversation, gql, newUser, ok, readWholeLog, SEND, startConversation, startTestApp, TERMINAL_KINDS,
  type MessageView, type TestApp, type TestUser,
} from './support.ts';

const RUNTIME_KEY = 'sk-ant-runtime-SECRET-4242';
const GEMINI_KEY = 'AIza-configured-SECRET-1717';
const MODELS = '{ models { id provider qualifiedId } }';
const KEYS = '{ providerApiKeys { provider configured setAt setBy } }';
const SET_KEY = 'mutation Set($provider: String!, $apiKey: String!) { setProviderApiKey(provider: $provider, apiKey: $apiKey) { provider configured setAt setBy } }';
const CLEAR_KEY = 'mutation Clear($provider: String!) { clearProviderApiKey(provider: $provider) { provider configured setAt setBy } }';
const CONVERSATION_PROVIDER = 'query C($id: ID!) { conversation(id: $id) { id model provider } }';
const PROVENANCE = `query P($id: ID!) { conversation(id: $id) { messages { edges { node { id role provenance { providerModel requestedModel provider { id host } } } } } } }`;

interface KeyStatus { provider: string; configured: boolean; setAt: string | null; setBy: string | null }

describe('GraphQL with several AI providers', () => {
  let t: TestApp;
  let anthropic: FakeProviderServer;
  let gemini: FakeProviderServer;
  let ollama: FakeProviderServer;
  let admin: TestUser;
  let user: TestUser;
  const logLines: string[] = [];

  beforeAll(async () => {
    anthropic = await startFakeProviderServer('anthropic', { requireApiKey: RUNTIME_KEY });
    gemini = await startFakeProviderServer('gemini', { requireApiKey: GEMINI_KEY });
    ollama = await startFakeProviderServer('ollama');
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
    t = await startTestApp({
      logger,
      env: {
        // Anthropic is on without a key of its own: an admin gives it one at run time.
        ANTHROPIC_BASE_URL: anthropic.url,
        GEMINI_BASE_URL: gemini.url, GEMINI_API_KEY: GEMINI_KEY,
        OLLAMA_BASE_URL: ollama.url,
      },
    });
    admin = await newUser(t.yoga);
    user = await newUser(t.yoga);
    expect(admin.role).toBe('admin');
    expect(user.role).not.toBe('admin');
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([anthropic?.close(), gemini?.close(), ollama?.close()]);
  });

  async function converse(model: string, content: string) {
    const conversation = await startConversation(t.yoga, user.token, { title: `${model} chat`, model });
    const feed = await ConversationFeed.open(t, conversation.id, user.token);
    try {
      await ok<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
      const events = await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind));
      return { conversation, events, terminal: events.at(-1)! };
    } finally {
      await feed.close();
    }
  }

  it('lists the models of every provider that answers, each with its provider', async () => {
    const { models } = await ok<{ models: Array<{ id: string; provider: string; qualifiedId: string }> }>(t.yoga, MODELS, {}, user.token);
    expect(models).toContainEqual({ id: 'fake-echo', provider: 'openai', qualifiedId: 'openai/fake-echo' });
    expect(models).toContainEqual({ id: 'gemini-fake-echo', provider: 'gemini', qualifiedId: 'gemini/gemini-fake-echo' });
    expect(models).toContainEqual({ id: 'llama-fake-echo', provider: 'ollama', qualifiedId: 'ollama/llama-fake-echo' });
    // Anthropic has no key yet: it answers 401 and is left out.
    expect(models.some((m) => m.provider === 'anthropic')).toBe(false);
  });

  it('only admins see and change runtime keys', async () => {
    expect((await fails(t.yoga, KEYS, {}, user.token)).code).toBe('FORBIDDEN');
    expect((await fails(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: 'sk-mine' }, user.token)).code).toBe('FORBIDDEN');
    expect((await fails(t.yoga, CLEAR_KEY, { provider: 'gemini' }, user.token)).code).toBe('FORBIDDEN');
    expect((await fails(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: 'sk-mine' }, null)).code).toBe('UNAUTHENTICATED');
    expect((await fails(t.yoga, KEYS, {}, null)).code).toBe('UNAUTHENTICATED');
    const { providerApiKeys } = await ok<{ providerApiKeys: KeyStatus[] }>(t.yoga, KEYS, {}, admin.token);
    expect(providerApiKeys.every((s) => !s.configured)).toBe(true);
    expect((await readWholeLog(t.app.store)).some((e) => e.type === 'ProviderApiKeySet')).toBe(false);
  });

  it('refuses unknown providers and malformed keys', async () => {
    expect((await fails(t.yoga, SET_KEY, { provider: 'acme', apiKey: 'k-1234' }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: '' }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: 'two words' }, admin.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: 'k'.repeat(1001) }, admin.token)).code).toBe('BAD_USER_INPUT');
  });

  it("an admin's runtime key is recorded sealed, shown only as configured, and used at the next call", async () => {
    const set = await gql<{ setProviderApiKey: KeyStatus }>(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: RUNTIME_KEY }, admin.token);
    expect(set.errors).toBeUndefined();
    expect(set.data!.setProviderApiKey).toEqual({ provider: 'anthropic', configured: true, setAt: expect.any(String), setBy: admin.userId });
    expect(set.raw).not.toContain(RUNTIME_KEY);
    const status = await gql<{ providerApiKeys: KeyStatus[] }>(t.yoga, KEYS, {}, admin.token);
    expect(status.raw).not.toContain(RUNTIME_KEY);
    expect(status.data!.providerApiKeys.find((s) => s.provider === 'anthropic')).toMatchObject({ configured: true, setBy: admin.userId });

    // The log holds the key sealed only.
    const log = await readWholeLog(t.app.store);
    const event = log.find((e) => e.type === 'ProviderApiKeySet')!;
    expect(event.metadata.actorId).toBe(admin.userId);
    expect(eventsJson(log)).not.toContain(RUNTIME_KEY);
    expect((event.data as { sealedKey: string }).sealedKey).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(auditSummary(event.type, event.data)).toEqual({ provider: 'anthropic' });

    // The models of Anthropic now appear, and a conversation on one streams its reply.
    const { models } = await ok<{ models: Array<{ id: string; provider: string }> }>(t.yoga, MODELS, {}, user.token);
    expect(models).toContainEqual(expect.objectContaining({ id: 'claude-fake-echo', provider: 'anthropic' }));
  });

  it('a conversation on each provider streams its reply, and says which provider it is on', async () => {
    const cases = [
      { model: 'anthropic/claude-fake-echo', provider: 'anthropic', host: new URL(anthropic.url).host, providerModel: 'claude-fake-echo' },
      { model: 'gemini-fake-echo', provider: 'gemini', host: new URL(gemini.url).host, providerModel: 'gemini-fake-echo' },
      { model: 'llama-fake-echo', provider: 'ollama', host: new URL(ollama.url).host, providerModel: 'llama-fake-echo' },
      { model: 'fake-echo', provider: 'openai', host: new URL(t.fake!.url).host, providerModel: 'fake-echo' },
    ];
    for (const c of cases) {
      const content = `hello ${c.provider} from the providers test`;
      const { conversation, events, terminal } = await converse(c.model, content);
      expect(terminal.kind, `${c.model}: ${JSON.stringify(terminal)}`).toBe('REPLY_COMPLETED');
      expect(events.filter((e) => e.kind === 'DELTA').length).toBeGreaterThanOrEqual(2);
      expect(terminal.message).toMatchObject({ content: `You said: ${content}`, finishReason: 'stop', model: c.providerModel });
      const view = await ok<{ conversation: { model: string; provider: string | null } }>(t.yoga, CONVERSATION_PROVIDER, { id: conversation.id }, user.token);
      expect(view.conversation).toMatchObject({ model: c.model, provider: c.provider });
      const provenance = await ok<{ conversation: { messages: { edges: Array<{ node: { role: string; provenance: unknown } }> } } }>(
        t.yoga, PROVENANCE, { id: conversation.id }, user.token);
      const reply = provenance.conversation.messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT')!;
      expect(reply.provenance).toMatchObject({
        requestedModel: c.model.replace(/^anthropic\//, ''), providerModel: c.providerModel, provider: { id: c.provider, host: c.host },
      });
    }
    // Both runtime and configured keys reached the providers, and none reached the logs.
    expect(anthropic.requests.some((r) => r.path === '/v1/messages')).toBe(true);
    expect(gemini.requests.some((r) => r.path.endsWith(':streamGenerateContent'))).toBe(true);
    expect(ollama.requests.some((r) => r.path === '/api/chat')).toBe(true);
    const logs = logLines.join('\n');
    expect(logs).not.toContain(RUNTIME_KEY);
    expect(logs).not.toContain(GEMINI_KEY);
  });

  it('a wrong runtime key fails the reply with PROVIDER_AUTH, and the key quoted back by the provider reaches no message nor log', async () => {
    const wrong = 'sk-ant-WRONG-SECRET-9999';
    await ok(t.yoga, SET_KEY, { provider: 'anthropic', apiKey: wrong }, admin.token);
    const { terminal, conversation } = await converse('anthropic/claude-fake-echo', 'does this key work');
    expect(terminal.kind).toBe('REPLY_FAILED');
    expect(terminal.message).toMatchObject({ errorCode: 'PROVIDER_AUTH' });
    expect(anthropic.requests.at(-1)!.headers.authorization ?? anthropic.requests.at(-1)!.headers['x-api-key']).toContain(wrong);
    expect(JSON.stringify(await getConversation(t.yoga, user.token, conversation.id))).not.toContain(wrong);
    await gql(t.yoga, MODELS, {}, user.token);
    expect(logLines.join('\n')).not.toContain(wrong);
    expect(eventsJson(await readWholeLog(t.app.store))).not.toContain(wrong);
  });

  it('clearing the key stops Anthropic replies with PROVIDER_AUTH (no configured key to fall back on)', async () => {
    const cleared = await ok<{ clearProviderApiKey: KeyStatus }>(t.yoga, CLEAR_KEY, { provider: 'anthropic' }, admin.token);
    expect(cleared.clearProviderApiKey).toEqual({ provider: 'anthropic', configured: false, setAt: null, setBy: null });
    const { terminal, conversation } = await converse('anthropic/claude-fake-echo', 'are you still there');
    expect(terminal.kind).toBe('REPLY_FAILED');
    expect(terminal.message).toMatchObject({ errorCode: 'PROVIDER_AUTH' });
    expect(JSON.stringify(await getConversation(t.yoga, user.token, conversation.id))).not.toContain(RUNTIME_KEY);
    await eventually(async () => (await readWholeLog(t.app.store)).some((e) => e.type === 'ProviderApiKeyCleared'), 'the clear is recorded');
  });
});
