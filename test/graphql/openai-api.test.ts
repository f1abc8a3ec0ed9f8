// The OpenAI-compatible API, called by the official `openai` npm client over a real HTTP server on
// loopback (the server's own provider is the fake OpenAI server, also on loopback).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { eventually, fails, newUser, ok, readWholeLog, startTestApp, type TestApp, type TestUser } from './support.ts';

const CREATE_KEY = 'mutation Create($name: String!, $scopes: [ApiKeyScope!]!) { createApiKey(name: $name, scopes: $scopes) { key apiKey { id } } }';
const today = () => new Date().toISOString().slice(0, 10);

/** Extra body parameters the openai client passes through as they are. */
type WithEvident = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming & { evident?: Record<string, unknown> };

describe('OpenAI-compatible API (/v1) through the openai client', () => {
  let t: TestApp;
  let server: RunningServer;
  let baseURL: string;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let aliceChat: { key: string; id: string };

  const key = async (user: TestUser, scopes: string[]) => {
    const created = (await ok<{ createApiKey: { key: string; apiKey: { id: string } } }>(t.yoga, CREATE_KEY, { name: 'sdk', scopes }, user.token)).createApiKey;
    return { key: created.key, id: created.apiKey.id };
  };
  const client = (apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });

  beforeAll(async () => {
    t = await startTestApp();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${server.port}/v1`;
    admin = await newUser(t.yoga);
    alice = await newUser(t.yoga);
    bob = await newUser(t.yoga);
    aliceChat = await key(alice, ['read', 'chat']);
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('lists the models, and the caller\'s knowledge bases as kb:<id>/<default model>', async () => {
    const kb = (await ok<{ createKnowledgeBase: { id: string } }>(t.yoga, 'mutation { createKnowledgeBase(name: "handbook") { id } }', {}, alice.token))
      .createKnowledgeBase;
    const models = [];
    for await (const model of client(aliceChat.key).models.list()) models.push(model.id);
    expect(models).toContain('fake-echo');
    expect(models).toContain(`kb:${kb.id}/fake-echo`);
    const bobs = [];
    for await (const model of client((await key(bob, ['read'])).key).models.list()) bobs.push(model.id);
    expect(bobs).toContain('fake-echo');
    expect(bobs.some((id) => id.includes(kb.id))).toBe(false);
  });

  it('answers a chat completion as a reply of the caller\'s own conversation, recorded like any other', async () => {
    const completion = await client(aliceChat.key).chat.completions.create({
      model: 'fake-echo',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello from the sdk' }],
      temperature: 0.5,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('fake-echo');
    expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'You said: hello from the sdk' });
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    const evident = (completion as unknown as { evident: { conversation_id: string; reply_id: string } }).evident;

    // The same events as a reply in the app: the caller's message, then the reply with provenance; the owner sees the conversation.
    const log = (await readWholeLog(t.app.store)).filter((e) => (e.data as { conversationId?: string }).conversationId === evident.conversation_id);
    expect(log.map((e) => e.type)).toEqual(['ConversationStarted', 'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCompleted']);
    expect(log[0]!.data).toMatchObject({ ownerId: alice.userId, systemPrompt: 'Be brief.', params: { temperature: 0.5 } });
    expect(log[1]!.metadata.actorId).toBe(alice.userId);
    expect((log[3]!.data as { provenance: unknown }).provenance).toMatchObject({ requestedModel: 'fake-echo' });
    const seen = await ok<{ conversation: { owner: { id: string }; messages: { edges: unknown[] } } }>(t.yoga,
      'query C($id: ID!) { conversation(id: $id) { owner { id } messages(first: 10) { edges { node { id } } } } }', { id: evident.conversation_id }, alice.token);
    expect(seen.conversation.owner.id).toBe(alice.userId);
    expect(seen.conversation.messages.edges).toHaveLength(2);
    expect((await fails(t.yoga, 'query C($id: ID!) { conversation(id: $id) { id } }', { id: evident.conversation_id }, bob.token)).code).toBe('NOT_FOUND');
  });

  it('streams chat.completion.chunk events, then the usage chunk, then ends', async () => {
    const stream = await client(aliceChat.key).chat.completions.create({
      model: 'fake-echo', messages: [{ role: 'user', content: 'stream me please' }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        if (choice.finish_reason) finishes.push(choice.finish_reason);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('You said: stream me please');
    expect(finishes).toEqual(['stop']);
    expect(chunks).toBeGreaterThan(2);
    expect(usage!.total_tokens).toBeGreaterThan(0);
  });

  it('cancels the reply when the caller goes away mid-stream (recorded as cancelled by the caller)', async () => {
    const controller = new AbortController();
    const stream = await client(aliceChat.key).chat.completions.create(
      { model: 'fake-slow-200', messages: [{ role: 'user', content: 'one two three four five six seven eight' }], stream: true },
      { signal: controller.signal });
    let conversationId: string | undefined;
    let text = '';
    try {
      for await (const chunk of stream) {
        conversationId ??= (chunk as unknown as { evident?: { conversation_id: string } }).evident?.conversation_id;
        text += chunk.choices[0]?.delta.content ?? '';
        if (text.length > 0) controller.abort();
      }
    } catch {
      // the client reports the abort as an error, or just ends the stream
    }
    expect(text.length).toBeGreaterThan(0);
    expect(conversationId).toBeDefined();
    const cancelled = await eventually(async () => (await readWholeLog(t.app.store)).find((e) =>
      e.type === 'AssistantReplyCancelled' && (e.data as { conversationId: string }).conversationId === conversationId), 'the cancellation');
    expect(cancelled.metadata.actorId).toBe(alice.userId);
  });

  it('continues a conversation of the caller\'s with evident.conversation_id, and no one else\'s', async () => {
    const first = await client(aliceChat.key).chat.completions.create({ model: 'fake-echo', messages: [{ role: 'user', content: 'first turn' }] });
    const conversationId = (first as unknown as { evident: { conversation_id: string } }).evident.conversation_id;
    const second = await client(aliceChat.key).chat.completions.create({
      model: 'fake-echo',
      messages: [{ role: 'user', content: 'first turn' }, { role: 'assistant', content: 'You said: first turn' }, { role: 'user', content: 'second turn' }],
      evident: { conversation_id: conversationId },
    } as WithEvident);
    expect(second.choices[0]!.message.content).toBe('You said: second turn');
    // The provider was given the conversation's history from the log.
    const request = t.fake!.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(request.messages.map((m) => m.content)).toEqual(['first turn', 'You said: first turn', 'second turn']);

    const bobChat = await key(bob, ['chat']);
    const stolen = await client(bobChat.key).chat.completions.create({
      model: 'fake-echo', messages: [{ role: 'user', content: 'let me in' }], evident: { conversation_id: conversationId },
    } as WithEvident).catch((error: unknown) => error);
    expect(stolen).toBeInstanceOf(OpenAI.NotFoundError);
    expect((stolen as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('conversation_not_found');
  });

  it('takes the history a stateless client hands in: recorded as the conversation\'s earlier turns, then the new message', async () => {
    const completion = await client(aliceChat.key).chat.completions.create({
      model: 'fake-echo',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'what is 2+2' }, { role: 'assistant', content: '4' },
        { role: 'user', content: 'and times 3' },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe('You said: and times 3');
    // The provider got the system prompt, the handed-in turns and the new message, in order.
    const request = t.fake!.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(request.messages).toEqual([
      { role: 'system', content: 'You are terse.' }, { role: 'user', content: 'what is 2+2' }, { role: 'assistant', content: '4' },
      { role: 'user', content: 'and times 3' },
    ]);
    const conversationId = (completion as unknown as { evident: { conversation_id: string } }).evident.conversation_id;
    const log = (await readWholeLog(t.app.store)).filter((e) => (e.data as { conversationId?: string }).conversationId === conversationId);
    expect(log.map((e) => e.type)).toEqual(['ConversationImported', 'ConversationMessageImported', 'ConversationMessageImported',
      'ConversationSystemPromptChanged', 'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCompleted']);
    expect(log[0]!.data).toMatchObject({ format: 'openai-api', ownerId: alice.userId });
    // The owner sees the whole thread; the new message follows the last handed-in turn.
    const seen = await ok<{ conversation: { messages: { edges: Array<{ node: { role: string; content: string } }> } } }>(t.yoga,
      'query C($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node { role content } } } } }', { id: conversationId }, alice.token);
    expect(seen.conversation.messages.edges.map((e) => e.node.content)).toEqual(['what is 2+2', '4', 'and times 3', 'You said: and times 3']);

    const empty = await client(aliceChat.key).chat.completions.create({
      model: 'fake-echo', messages: [{ role: 'user', content: ' ' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'y' }],
    }).catch((error: unknown) => error);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('refuses without a valid key (401), without the chat scope (403), with an unknown model (404) or a bad body (400)', async () => {
    const bare = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'fake-echo', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });

    const ask = (apiKey: string, body: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) => client(apiKey).chat.completions
      .create({ model: 'fake-echo', messages: [{ role: 'user', content: 'hi' }], ...body } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming)
      .catch((error: unknown) => error);

    expect(await ask(alice.token)).toBeInstanceOf(OpenAI.AuthenticationError); // a session token is not an API key
    expect(await ask('evk_not-a-real-key')).toBeInstanceOf(OpenAI.AuthenticationError);
    const read = await key(alice, ['read']);
    const forbidden = await ask(read.key);
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((forbidden as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('insufficient_scope');

    const unknown = await ask(aliceChat.key, { model: 'no-such-model' });
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const bobsBase = (await ok<{ createKnowledgeBase: { id: string } }>(t.yoga, 'mutation { createKnowledgeBase(name: "bob only") { id } }', {}, bob.token))
      .createKnowledgeBase;
    expect(await ask(aliceChat.key, { model: `kb:${bobsBase.id}/fake-echo` })).toBeInstanceOf(OpenAI.NotFoundError);

    const hot = await ask(aliceChat.key, { temperature: 5 });
    expect(hot).toBeInstanceOf(OpenAI.BadRequestError);
    expect((hot as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
    expect(await ask(aliceChat.key, { messages: [{ role: 'assistant', content: 'no question' }] })).toBeInstanceOf(OpenAI.BadRequestError);

    const revocable = await key(alice, ['chat']);
    await ok(t.yoga, 'mutation R($id: ID!) { revokeApiKey(id: $id) { id } }', { id: revocable.id }, alice.token);
    expect(await ask(revocable.key)).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('lets only keys with the documents scope stream uploads to POST /uploads', async () => {
    const upload = (token: string) => fetch(`http://127.0.0.1:${server.port}/uploads`, {
      method: 'POST', body: '# Notes\n\nhello', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/markdown', 'x-file-name': 'notes.md' },
    });
    const refused = await upload(aliceChat.key);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    const documents = await key(alice, ['documents']);
    const accepted = await upload(documents.key);
    expect(accepted.status).toBe(201);
    const { documentId } = await accepted.json() as { documentId: string };
    const owner = await t.app.readDb.query<{ owner_id: string }>('SELECT owner_id FROM documents WHERE document_id = $1', [documentId]);
    expect(owner.rows[0]?.owner_id).toBe(alice.userId);
  });

  it('counts the calls in usage and refuses with 429 QUOTA_EXCEEDED once the daily quota is used up', async () => {
    const carol = await newUser(t.yoga);
    const carolKey = await key(carol, ['chat']);
    await client(carolKey.key).chat.completions.create({ model: 'fake-echo', messages: [{ role: 'user', content: 'spend some tokens' }] });
    const usage = await eventually(async () => {
      const mine = (await ok<{ myUsage: { requests: number; totalTokens: number } }>(t.yoga,
        'query U($d: String!) { myUsage(from: $d, to: $d) { requests totalTokens } }', { d: today() }, carol.token)).myUsage;
      return mine.totalTokens > 0 ? mine : null;
    }, 'usage of the call');
    expect(usage.requests).toBe(1);

    await ok(t.yoga, 'mutation Q($id: ID!) { setTokenQuota(userId: $id, tokensPerDay: 1) { tokensPerDay } }', { id: carol.userId }, admin.token);
    const before = t.fake!.requests.length;
    // With the client's default retries: the answer says not to retry, so it asks once.
    const refused = await new OpenAI({ baseURL, apiKey: carolKey.key }).chat.completions
      .create({ model: 'fake-echo', messages: [{ role: 'user', content: 'more please' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('QUOTA_EXCEEDED');
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).type).toBe('insufficient_quota');
    expect(t.fake!.requests.length).toBe(before);
  });
});
