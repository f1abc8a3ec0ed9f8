import { describe, expect, it } from 'vitest';
import {
  conversationDecider, MAX_MESSAGE_LENGTH, MAX_MODEL_LENGTH, MAX_SYSTEM_PROMPT_LENGTH, MAX_TITLE_LENGTH,
  type ConversationCommand, type ConversationEvent,
} from '../../../src/domain/conversation/conversation.ts';
import { DomainError } from '../../../src/domain/decider.ts';
import { refusal as refuse } from '../../support/refusal.ts';

// Every length limit pinned exactly: the limit itself is accepted, one character more is refused
// with BAD_USER_INPUT naming the limit.

const ids = { conversationId: 'c1', ownerId: 'u1' };
const started: ConversationEvent = {
  type: 'ConversationStarted',
  data: { ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: null, params: {} },
};
const fresh = () => conversationDecider.initialState();
const afterStart = () => conversationDecider.evolve(fresh(), started);

const start = (overrides: Partial<Extract<ConversationCommand, { type: 'StartConversation' }>>): ConversationCommand =>
  ({ type: 'StartConversation', ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: null, params: {}, ...overrides });
const rename = (title: string): ConversationCommand => ({ type: 'RenameConversation', conversationId: 'c1', actorId: 'u1', title });
const send = (content: string): ConversationCommand =>
  ({ type: 'SendUserMessage', conversationId: 'c1', actorId: 'u1', messageId: 'm1', content });

const refusal = (run: () => unknown) => refuse(run, DomainError);

const cases: Array<{ name: string; limit: number; command: (value: string) => ConversationCommand; state: () => ReturnType<typeof fresh>; field: string }> = [
  { name: 'title when starting', limit: MAX_TITLE_LENGTH, command: (title) => start({ title }), state: fresh, field: 'title' },
  { name: 'title when renaming', limit: MAX_TITLE_LENGTH, command: rename, state: afterStart, field: 'title' },
  { name: 'system prompt', limit: MAX_SYSTEM_PROMPT_LENGTH, command: (systemPrompt) => start({ systemPrompt }), state: fresh, field: 'systemPrompt' },
  { name: 'model', limit: MAX_MODEL_LENGTH, command: (model) => start({ model }), state: fresh, field: 'model' },
  { name: 'message', limit: MAX_MESSAGE_LENGTH, command: send, state: afterStart, field: 'content' },
];

describe('conversation length limits', () => {
  for (const { name, limit, command, state, field } of cases) {
    describe(name, () => {
      it(`accepts exactly ${limit} characters and records them`, () => {
        const value = 'x'.repeat(limit);
        const events = conversationDecider.decide(command(value), state());
        expect(events).toHaveLength(1);
        expect((events[0]!.data as unknown as Record<string, unknown>)[field]).toBe(value);
      });

      it(`refuses ${limit + 1} characters with the limit in the message`, () => {
        const error = refusal(() => conversationDecider.decide(command('x'.repeat(limit + 1)), state()));
        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.message).toContain(String(limit));
      });
    });
  }
});

describe('assistant reply limits', () => {
  const streaming = () => [
    started,
    { type: 'UserMessageSent', data: { ...ids, messageId: 'm1', content: 'Hi' } },
    { type: 'AssistantReplyStarted', data: { ...ids, replyId: 'r1', inReplyTo: 'm1', model: 'gpt-4o', params: {} } },
  ].reduce((state, event) => conversationDecider.evolve(state, event as ConversationEvent), fresh());
  const complete = (overrides: Record<string, unknown>): ConversationCommand =>
    ({ type: 'CompleteAssistantReply', conversationId: 'c1', replyId: 'r1', text: 'Hello', latencyMs: 10, ...overrides }) as ConversationCommand;
  const completedData = (command: ConversationCommand) => conversationDecider.decide(command, streaming())[0]!.data as unknown as Record<string, unknown>;

  it(`keeps a reported model of exactly ${MAX_MODEL_LENGTH} characters and falls back to the requested one above`, () => {
    expect(completedData(complete({ model: 'm'.repeat(MAX_MODEL_LENGTH) })).model).toBe('m'.repeat(MAX_MODEL_LENGTH));
    expect(completedData(complete({ model: 'm'.repeat(MAX_MODEL_LENGTH + 1) })).model).toBe('gpt-4o');
    expect(completedData(complete({ model: ' ' })).model).toBe('gpt-4o');
    expect(completedData(complete({ model: ' gpt-4o-2024 ' })).model).toBe('gpt-4o-2024');
  });

  it('takes durations of 0 ms and refuses -1 ms', () => {
    expect(completedData(complete({ latencyMs: 0, timeToFirstTokenMs: 0 }))).toMatchObject({ latencyMs: 0, timeToFirstTokenMs: 0 });
    expect(completedData(complete({ timeToFirstTokenMs: null })).timeToFirstTokenMs).toBeNull();
    expect(completedData(complete({ timeToFirstTokenMs: undefined })).timeToFirstTokenMs).toBeNull();
    for (const overrides of [{ latencyMs: -1 }, { timeToFirstTokenMs: -1 }, { latencyMs: Number.NaN }, { latencyMs: '5' }]) {
      const error = refusal(() => conversationDecider.decide(complete(overrides), streaming()));
      expect(error.code, JSON.stringify(overrides)).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(/non-negative number of milliseconds/);
    }
  });
});
