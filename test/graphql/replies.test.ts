import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import {
  CANCEL, ConversationFeed, fails, getConversation, newUser, ok, SEND, startConversation, startTestApp, TERMINAL_KINDS, within,
  type FeedEvent, type MessageView, type TestApp, type TestUser,
} from './support.ts';


const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** The streamed text, checking that the deltas are contiguous. */
function streamedText(events: readonly FeedEvent[], replyId: string): string {
  let text = '';
  for (const event of events.filter((e) => e.kind === 'DELTA' && e.replyId === replyId)) {
    expect(event.offset, 'deltas are contiguous').toBe(text.length);
    expect(event.message).toBeNull();
    text += event.delta ?? '';
  }
  return text;
}

describe('GraphQL assistant replies (in process, fake provider)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Starts a conversation, subscribes, sends `content`, and collects events up to the reply's end. */
  async function converse(model: string, content: string, options: { systemPrompt?: string } = {}) {
    const conversation = await startConversation(t.yoga, user.token, { title: `${model} chat`, model, ...options });
    const feed = await ConversationFeed.open(t, conversation.id, user.token);
    try {
      const sent = (await ok<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId: conversation.id, content }, user.token)).sendMessage;
      const events = await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind));
      return { conversation, sent, events, terminal: events.at(-1)! };
    } finally {
      await feed.close();
    }
  }

  it('streams a reply as DELTA events and ends it with REPLY_COMPLETED holding the stored message', async () => {
    const content = 'hello there from the graphql test suite';
    const { conversation, sent, events, terminal } = await converse('fake-slow', content, { systemPrompt: 'Be brief.' });
    expect(sent).toMatchObject({ role: 'USER', content, status: 'COMPLETE', conversationId: conversation.id, inReplyTo: null });

    expect(events.find((e) => e.kind === 'MESSAGE_ADDED')).toMatchObject({ messageId: sent.id, message: { role: 'USER', content } });
    const started = events.find((e) => e.kind === 'REPLY_STARTED');
    expect(started?.replyId).toBeTruthy();
    expect(events.every((e) => e.conversationId === conversation.id)).toBe(true);

    expect(terminal.kind).toBe('REPLY_COMPLETED');
    const replyId = terminal.replyId!;
    expect(replyId).toBe(started!.replyId);
    const deltas = events.filter((e) => e.kind === 'DELTA');
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    const text = streamedText(events, replyId);
    const expected = `You said: ${content}`;
    expect(text).toBe(expected);

    const reply = terminal.message!;
    expect(reply).toMatchObject({
      id: replyId, role: 'ASSISTANT', status: 'COMPLETE', content: expected, inReplyTo: sent.id, model: 'fake-slow',
      finishReason: 'stop', errorCode: null, errorMessage: null,
    });
    const promptTokens = words('Be brief.') + words(content);
    expect(reply.usage).toEqual({ promptTokens, completionTokens: words(expected), totalTokens: promptTokens + words(expected) });
    expect(reply.timeToFirstTokenMs).toEqual(expect.any(Number));
    expect(reply.latencyMs).toEqual(expect.any(Number));
    expect(reply.timeToFirstTokenMs!).toBeGreaterThan(0);
    expect(reply.latencyMs!).toBeGreaterThanOrEqual(reply.timeToFirstTokenMs!);
    expect(reply.completedAt).not.toBeNull();

    // The conversation, queried afterwards, holds the same completed reply.
    const stored = await getConversation(t.yoga, user.token, conversation.id);
    expect(stored.messageCount).toBe(2);
    expect(stored.messages.edges.map((e) => e.node)).toEqual([sent, reply]);

    // The provider got the system prompt and the question.
    const request = t.fake!.requests.find((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes(content));
    expect((request?.body as { messages: unknown }).messages).toEqual([
      { role: 'system', content: 'Be brief.' }, { role: 'user', content },
    ]);

    // The finished reply is ONE event in the log, with everything about it; no event per token.
    const log = await t.app.store.readStream(conversationStream(conversation.id));
    expect(log.map((e) => e.type)).toEqual(['ConversationStarted', 'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCompleted']);
    expect(log[3]!.data).toEqual({
      conversationId: conversation.id, ownerId: user.userId, replyId, text: expected, model: 'fake-slow', params: {},
      usage: reply.usage, timeToFirstTokenMs: reply.timeToFirstTokenMs, latencyMs: reply.latencyMs, finishReason: 'stop',
      sources: [], // no knowledge attached: the reply used no sources
      provenance: expect.objectContaining({ requestedModel: 'fake-slow', providerModel: 'fake-slow', inReplyTo: [sent.id] }),
    });
  });

  it('announces the message before the reply to it, and each as stored: subscribers can load what they are told of', async () => {
    for (const round of [1, 2, 3]) {
      const { sent, events } = await converse('fake-echo', `announce in order ${round}`);
      const durable = events.filter((e) => e.kind !== 'DELTA');
      expect(durable.map((e) => e.kind)).toEqual(['MESSAGE_ADDED', 'REPLY_STARTED', 'REPLY_COMPLETED']);
      expect(durable[0]!.message).toEqual(sent);
      // The reply is in the read model when its start is announced, and its text only follows that.
      expect(durable[1]!.message).toMatchObject({ id: durable[1]!.replyId, role: 'ASSISTANT', status: 'STREAMING', inReplyTo: sent.id });
      expect(events.findIndex((e) => e.kind === 'DELTA')).toBeGreaterThan(events.indexOf(durable[1]!));
    }
  });

  it('announces a reply whose provider keeps failing as started, then as failed (after the retries)', async () => {
    const { events } = await converse('fake-500', 'fails every time');
    expect(events.map((e) => e.kind)).toEqual(['MESSAGE_ADDED', 'REPLY_STARTED', 'REPLY_FAILED']);
  });

  it('keeps the history: the second question is sent with the first exchange', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
    const feed = await ConversationFeed.open(t, conversation.id, user.token);
    try {
      for (const content of ['one fish', 'two fish']) {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
        expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_COMPLETED');
      }
    } finally {
      await feed.close();
    }
    const request = t.fake!.requests.filter((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('two fish')).at(-1);
    expect((request?.body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'one fish' }, { role: 'assistant', content: 'You said: one fish' }, { role: 'user', content: 'two fish' },
    ]);
  });

  it('survives a provider rate limit before the first token (429 with Retry-After, then success)', async () => {
    const { terminal } = await converse('fake-429', 'rate limited question');
    expect(terminal.kind).toBe('REPLY_COMPLETED');
    expect(terminal.message).toMatchObject({ status: 'COMPLETE', content: 'You said: rate limited question' });
  });

  describe('provider failures', () => {
    it('HTTP 500: REPLY_FAILED with an error code; the reply is stored FAILED', async () => {
      const { conversation, terminal, events } = await converse('fake-500', 'this will fail');
      expect(terminal.kind).toBe('REPLY_FAILED');
      expect(terminal.errorCode).toMatch(/^PROVIDER_/);
      expect(terminal.errorMessage).toBeTruthy();
      expect(events.filter((e) => e.kind === 'DELTA')).toEqual([]);
      expect(terminal.message).toMatchObject({
        role: 'ASSISTANT', status: 'FAILED', errorCode: terminal.errorCode, errorMessage: terminal.errorMessage, content: '',
        usage: null, finishReason: null,
      });
      const stored = await getConversation(t.yoga, user.token, conversation.id);
      expect(stored.messages.edges.at(-1)!.node).toMatchObject({ id: terminal.replyId, status: 'FAILED', errorCode: terminal.errorCode });
      const log = await t.app.store.readStream(conversationStream(conversation.id));
      expect(log.at(-1)).toMatchObject({ type: 'AssistantReplyFailed', data: { errorCode: terminal.errorCode, partialText: '' } });
    });

    it('connection dropped mid-stream: REPLY_FAILED, the partial text is kept', async () => {
      const { conversation, terminal, events } = await converse('fake-disconnect', 'drop the line');
      expect(terminal.kind).toBe('REPLY_FAILED');
      expect(terminal.errorCode).toMatch(/^PROVIDER_/);
      expect(streamedText(events, terminal.replyId!)).toBe('Partial answer');
      expect(terminal.message).toMatchObject({ status: 'FAILED', content: 'Partial answer', errorCode: terminal.errorCode });
      const stored = await getConversation(t.yoga, user.token, conversation.id);
      expect(stored.messages.edges.at(-1)!.node).toMatchObject({ status: 'FAILED', content: 'Partial answer' });
      const log = await t.app.store.readStream(conversationStream(conversation.id));
      expect(log.at(-1)).toMatchObject({ type: 'AssistantReplyFailed', data: { partialText: 'Partial answer' } });
    });

    it('malformed stream: REPLY_FAILED with the text before the garbage', async () => {
      const { terminal } = await converse('fake-malformed', 'send garbage');
      expect(terminal.kind).toBe('REPLY_FAILED');
      expect(terminal.errorCode).toMatch(/^PROVIDER_/);
      expect(terminal.message).toMatchObject({ status: 'FAILED', content: 'Hello', errorCode: terminal.errorCode });
    });

    it('after a failure the conversation takes the next message', async () => {
      const conversation = await startConversation(t.yoga, user.token, { model: 'fake-500' });
      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      try {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'first try' }, user.token);
        expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_FAILED');
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'second try' }, user.token);
        expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_FAILED');
      } finally {
        await feed.close();
      }
      expect((await getConversation(t.yoga, user.token, conversation.id)).messageCount).toBe(4);
    });
  });

  describe('cancelling and concurrency', () => {
    it('cancelReply stops a streaming reply: REPLY_CANCELLED, stored CANCELLED with the partial text, provider connection closed', async () => {
      const content = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
      const full = `You said: ${content}`;
      const conversation = await startConversation(t.yoga, user.token, { model: 'fake-slow' });
      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      const closedBefore = t.fake!.closedEarly;
      let cancelled: MessageView;
      let events: FeedEvent[];
      try {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
        const untilDelta = await feed.collectUntil((e) => e.kind === 'DELTA' || TERMINAL_KINDS.has(e.kind));
        const firstDelta = untilDelta.at(-1)!;
        expect(firstDelta.kind).toBe('DELTA');
        cancelled = (await ok<{ cancelReply: MessageView }>(t.yoga, CANCEL,
          { conversationId: conversation.id, replyId: firstDelta.replyId }, user.token)).cancelReply;
        events = [...untilDelta, ...await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))];
      } finally {
        await feed.close();
      }
      const terminal = events.at(-1)!;
      expect(terminal.kind).toBe('REPLY_CANCELLED');
      expect(cancelled).toMatchObject({ id: terminal.replyId, role: 'ASSISTANT', status: 'CANCELLED' });
      expect(cancelled.content!.length).toBeGreaterThan(0);
      expect(full.startsWith(cancelled.content!)).toBe(true);
      expect(cancelled.content!.length).toBeLessThan(full.length);
      expect(streamedText(events, terminal.replyId!)).toBe(cancelled.content);
      expect(terminal.message).toMatchObject({ status: 'CANCELLED', content: cancelled.content });

      await within(t.fake!.waitForClosedEarly(closedBefore + 1), 'the provider connection to close');
      expect(t.fake!.closedEarly).toBe(closedBefore + 1);

      const stored = await getConversation(t.yoga, user.token, conversation.id);
      expect(stored.messages.edges.at(-1)!.node).toMatchObject({ id: terminal.replyId, status: 'CANCELLED', content: cancelled.content });
      const log = await t.app.store.readStream(conversationStream(conversation.id));
      expect(log.map((e) => e.type)).toEqual(['ConversationStarted', 'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCancelled']);
      expect(log[3]!.data).toMatchObject({ replyId: terminal.replyId, partialText: cancelled.content });

      // Cancelling again is harmless; the conversation takes the next message.
      const again = (await ok<{ cancelReply: MessageView }>(t.yoga, CANCEL, { conversationId: conversation.id, replyId: terminal.replyId }, user.token)).cancelReply;
      expect(again).toMatchObject({ status: 'CANCELLED', content: cancelled.content });
      const next = await ConversationFeed.open(t, conversation.id, user.token);
      try {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'next one' }, user.token);
        const end = (await next.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
        expect(end.message).toMatchObject({ status: 'COMPLETE', content: 'You said: next one' });
      } finally {
        await next.close();
      }
    });

    it('a second message while a reply is streaming is refused with CONFLICT and not stored', async () => {
      const conversation = await startConversation(t.yoga, user.token, { model: 'fake-hang' });
      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      const closedBefore = t.fake!.closedEarly;
      try {
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'first' }, user.token);
        const delta = (await feed.collectUntil((e) => e.kind === 'DELTA' || TERMINAL_KINDS.has(e.kind))).at(-1)!;
        expect(delta).toMatchObject({ kind: 'DELTA', delta: 'Hello' });

        const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'second' }, user.token);
        expect(error.code).toBe('CONFLICT');
        const during = await getConversation(t.yoga, user.token, conversation.id);
        expect(during.messages.edges.map((e) => [e.node.role, e.node.status])).toEqual([['USER', 'COMPLETE'], ['ASSISTANT', 'STREAMING']]);

        const cancelled = (await ok<{ cancelReply: MessageView }>(t.yoga, CANCEL,
          { conversationId: conversation.id, replyId: delta.replyId }, user.token)).cancelReply;
        expect(cancelled).toMatchObject({ status: 'CANCELLED', content: 'Hello' });
        expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_CANCELLED');
      } finally {
        await feed.close();
      }
      await within(t.fake!.waitForClosedEarly(closedBefore + 1), 'the hanging provider connection to close');
      const after = await getConversation(t.yoga, user.token, conversation.id);
      expect(after.messages.edges.map((e) => e.node.content)).toEqual(['first', 'Hello']);
      expect(JSON.stringify(await t.app.store.readStream(conversationStream(conversation.id)), (_k, v: unknown) =>
        (typeof v === 'bigint' ? v.toString() : v))).not.toContain('"second"');
    });

    it('cancelReply for a reply that does not exist is NOT_FOUND', async () => {
      const conversation = await startConversation(t.yoga, user.token);
      const error = await fails(t.yoga, CANCEL, { conversationId: conversation.id, replyId: '01a215be-0000-7000-8000-000000000000' }, user.token);
      expect(error.code).toBe('NOT_FOUND');
    });
  });
});
