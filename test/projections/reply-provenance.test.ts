import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream, type ReplyProvenance } from '../../src/domain/conversation/conversation.ts';
import { canonicalJson, providerHost, replyProvenance } from '../../src/projections/reply-provenance.ts';
import {
  ConversationFeed, newUser, ok, SEND, startConversation, startTestApp, TERMINAL_KINDS, type MessageView, type TestApp, type TestUser,
} from '../graphql/support.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonicalJson', () => {
  it('sorts keys at every depth and leaves no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ z: 'x', y: null }, true], c: { e: 'é\n', d: -0.5 } }))
      .toBe('{"a":[{"y":null,"z":"x"},true],"b":1,"c":{"d":-0.5,"e":"é\\n"}}');
  });
  it('refuses what JSON cannot say', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('providerHost', () => {
  it('keeps the host and port only: no credentials, path or query', () => {
    expect(providerHost('https://user:secret@api.example.com:8443/v1?key=abc')).toBe('api.example.com:8443');
    expect(providerHost(undefined)).toBeNull();
    expect(providerHost('not a url')).toBeNull();
  });
});

describe('replyProvenance', () => {
  it('hashes exactly the role and content of each message sent, and lists every history entry', () => {
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Hi' }];
    const p = replyProvenance({
      messages, history: [{ messageId: 'm1' }], requestedModel: 'm', params: { temperature: 1 }, sources: [], provider: { id: 'openai' },
    }, 'm-2024');
    expect(p).toEqual({
      providerModel: 'm-2024', requestedModel: 'm', params: { temperature: 1 },
      systemPromptSha256: sha256('Be brief.'),
      promptSha256: sha256('[{"content":"Be brief.","role":"system"},{"content":"Hi","role":"user"}]'),
      inReplyTo: ['m1'], sources: [], provider: { id: 'openai', host: null },
    });
  });
});

const PROVENANCE = `query Messages($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node {
  id role provenance { providerModel requestedModel parameters { temperature topP maxTokens } systemPromptSha256 promptSha256 inReplyTo
    sources { documentId documentVersion chunkId } provider { id host } }
} } } } }`;

interface ProvenanceView extends Omit<ReplyProvenance, 'params' | 'sources'> {
  parameters: Record<string, number | null>;
  sources: unknown[];
}

describe('reply provenance, end to end (fake provider)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function ask(conversationId: string, content: string) {
    const feed = await ConversationFeed.open(t, conversationId, user.token);
    try {
      const sent = (await ok<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId, content }, user.token)).sendMessage;
      const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
      const request = t.fake!.requests.find((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes(content))!;
      return { sent, terminal, body: request.body as { model: string; messages: Array<{ role: string; content: string }> } };
    } finally {
      await feed.close();
    }
  }

  async function provenanceOf(conversationId: string): Promise<Map<string, ProvenanceView | null>> {
    const { conversation } = await ok<{ conversation: { messages: { edges: Array<{ node: { id: string; provenance: ProvenanceView | null } }> } } }>(
      t.yoga, PROVENANCE, { id: conversationId }, user.token);
    return new Map(conversation.messages.edges.map((e) => [e.node.id, e.node.provenance]));
  }

  it('records hashes of exactly what the provider received, and every message the prompt held', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo', systemPrompt: 'Answer in one line.', parameters: { temperature: 0.3 } });
    const first = await ask(conversation.id, 'first question about provenance');
    expect(first.terminal.kind).toBe('REPLY_COMPLETED');
    const second = await ask(conversation.id, 'second question about provenance');
    expect(second.terminal.kind).toBe('REPLY_COMPLETED');
    const firstReplyId = first.terminal.replyId!;
    const secondReplyId = second.terminal.replyId!;

    // Independent of canonicalJson: a {role, content} object has its keys sorted as content, role.
    const expectedHash = (messages: Array<{ role: string; content: string }>) =>
      sha256(JSON.stringify(messages.map((m) => ({ content: m.content, role: m.role }))));
    expect(second.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);

    const log = await t.app.store.readStream(conversationStream(conversation.id));
    const completed = log.filter((e) => e.type === 'AssistantReplyCompleted');
    expect(completed.map((e) => e.schemaVersion)).toEqual([3, 3]);
    const recorded = completed.map((e) => (e.data as { provenance: ReplyProvenance }).provenance);
    const host = new URL(t.fake!.url).host;
    expect(recorded[1]).toEqual({
      providerModel: 'fake-echo', requestedModel: second.body.model, params: { temperature: 0.3 },
      systemPromptSha256: sha256('Answer in one line.'),
      promptSha256: expectedHash(second.body.messages),
      inReplyTo: [first.sent.id, firstReplyId, second.sent.id],
      sources: [], provider: { id: 'openai', host },
    });
    expect(recorded[0]!.promptSha256).toBe(expectedHash(first.body.messages));
    expect(recorded[0]!.inReplyTo).toEqual([first.sent.id]);

    const viewed = await provenanceOf(conversation.id);
    expect(viewed.get(first.sent.id)).toBeNull();
    expect(viewed.get(secondReplyId)).toEqual({
      providerModel: 'fake-echo', requestedModel: 'fake-echo', parameters: { temperature: 0.3, topP: null, maxTokens: null },
      systemPromptSha256: sha256('Answer in one line.'), promptSha256: expectedHash(second.body.messages),
      inReplyTo: [first.sent.id, firstReplyId, second.sent.id], sources: [], provider: { id: 'openai', host },
    });
  });

  it('records the provenance of a reply that failed after its prompt was sent, with no provider model', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-500' });
    const asked = await ask(conversation.id, 'a question the provider fails');
    expect(asked.terminal.kind).toBe('REPLY_FAILED');
    const failed = (await t.app.store.readStream(conversationStream(conversation.id))).find((e) => e.type === 'AssistantReplyFailed')!;
    expect(failed.schemaVersion).toBe(2);
    expect((failed.data as { provenance: ReplyProvenance }).provenance).toMatchObject({
      providerModel: null, requestedModel: 'fake-500', systemPromptSha256: null, inReplyTo: [asked.sent.id],
    });
    expect((await provenanceOf(conversation.id)).get(asked.terminal.replyId!)).toMatchObject({ requestedModel: 'fake-500', providerModel: null });
  });
});
