import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildPrompt, conversationDecider, conversationPersonalData, MAX_IMPORTED_MESSAGES, type ConversationCommand, type ConversationEvent,
} from '../../../src/domain/conversation/conversation.ts';
import { MAX_IMPORTED_CONVERSATIONS, parseImport } from '../../../src/domain/conversation/import-formats.ts';
import { DomainError } from '../../../src/domain/decider.ts';
import { currentSchemaVersions } from '../../../src/domain/event-versions.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(conversationDecider);
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8');
const ids = { conversationId: 'c1', ownerId: 'u1' };

const importCommand = (overrides: Partial<Extract<ConversationCommand, { type: 'ImportConversation' }>> = {}): ConversationCommand => ({
  type: 'ImportConversation', ...ids, format: 'chatgpt', title: 'Trip', model: 'fake-echo',
  messages: [
    { messageId: 'm1', role: 'user', content: 'Hello?', createdAt: '2024-05-20T10:00:00Z', model: null },
    { messageId: 'm2', role: 'assistant', content: 'Hi!', createdAt: null, model: 'gpt-4o' },
  ],
  ...overrides,
});
const imported: ConversationEvent[] = [
  { type: 'ConversationImported', data: { ...ids, format: 'chatgpt', title: 'Trip', model: 'fake-echo', messageCount: 2 } },
  { type: 'ConversationMessageImported', data: { ...ids, messageId: 'm1', role: 'user', content: 'Hello?', createdAt: '2024-05-20T10:00:00.000Z', model: null } },
  { type: 'ConversationMessageImported', data: { ...ids, messageId: 'm2', role: 'assistant', content: 'Hi!', createdAt: null, model: 'gpt-4o' } },
];

const failsWith = (run: () => unknown, message: RegExp) => {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('BAD_USER_INPUT');
  expect((error as DomainError).message).toMatch(message);
};

describe('ImportConversation (decider)', () => {
  it('records the conversation and one event per message, in order', () => {
    spec.given([]).when(importCommand()).then(imported);
  });

  it('folds into a conversation whose prompt history is the imported messages, that takes new messages', () => {
    const state = imported.reduce(conversationDecider.evolve, conversationDecider.initialState());
    expect(state).toMatchObject({ status: 'active', ownerId: 'u1', title: 'Trip', model: 'fake-echo' });
    expect(buildPrompt(state)).toEqual([{ role: 'user', content: 'Hello?' }, { role: 'assistant', content: 'Hi!' }]);
    spec.given(imported).when({ type: 'SendUserMessage', conversationId: 'c1', actorId: 'u1', messageId: 'm3', content: 'More' })
      // It follows the last imported message (the import is one linear path of the message tree).
      .then([{ type: 'UserMessageSent', data: { ...ids, messageId: 'm3', content: 'More', parentId: 'm2', editedMessageId: null } }]);
    // An imported message id cannot be reused, and no reply can be started for an imported message.
    spec.given(imported).when({ type: 'SendUserMessage', conversationId: 'c1', actorId: 'u1', messageId: 'm2', content: 'x' }).thenFails('CONFLICT');
    spec.given(imported).when({ type: 'StartAssistantReply', conversationId: 'c1', replyId: 'r', inReplyTo: 'm1', model: 'fake-echo' })
      .thenFails('CONFLICT');
  });

  it('refuses an existing stream, no messages, too many, duplicate ids and bad roles', () => {
    spec.given(imported.slice(0, 1)).when(importCommand()).thenFails('CONFLICT');
    spec.given([]).when(importCommand({ messages: [] })).thenFails('BAD_USER_INPUT', /at least one/);
    const many = Array.from({ length: MAX_IMPORTED_MESSAGES + 1 }, (_, i) => ({ messageId: `m${i}`, role: 'user' as const, content: 'x', createdAt: null, model: null }));
    spec.given([]).when(importCommand({ messages: many })).thenFails('BAD_USER_INPUT', /at most/);
    spec.given([]).when(importCommand({ messages: [
      { messageId: 'm1', role: 'user', content: 'a', createdAt: null, model: null }, { messageId: 'm1', role: 'user', content: 'b', createdAt: null, model: null },
    ] })).thenFails('BAD_USER_INPUT', /twice/);
    spec.given([]).when(importCommand({ messages: [{ messageId: 'm1', role: 'system' as 'user', content: 'a', createdAt: null, model: null }] }))
      .thenFails('BAD_USER_INPUT', /role/);
  });

  it('checks every string by the text rule: NUL, lone surrogates, blank content, bad times', () => {
    const one = (content: string, createdAt: string | null = null) => importCommand({ messages: [{ messageId: 'm1', role: 'user', content, createdAt, model: null }] });
    spec.given([]).when(one('a\u0000b')).thenFails('BAD_USER_INPUT', /NUL/);
    spec.given([]).when(one('a\uD800b')).thenFails('BAD_USER_INPUT', /surrogate/);
    spec.given([]).when(one('   ')).thenFails('BAD_USER_INPUT', /content/);
    spec.given([]).when(one('ok', 'yesterday')).thenFails('BAD_USER_INPUT', /createdAt/);
    spec.given([]).when(importCommand({ title: 'a\nb' })).thenFails('BAD_USER_INPUT', /Title/);
    spec.given([]).when(importCommand({ format: 'claude' as 'chatgpt' })).thenFails('BAD_USER_INPUT', /format/);
  });

  it('is registered: versions, personal fields under the conversation key', () => {
    expect(currentSchemaVersions.ConversationImported).toBe(1);
    expect(currentSchemaVersions.ConversationMessageImported).toBe(1);
    expect(conversationPersonalData.ConversationImported?.fields).toEqual(['title']);
    expect(conversationPersonalData.ConversationMessageImported?.fields).toEqual(['content']);
    expect(conversationPersonalData.ConversationMessageImported?.keyScope).toEqual({ kind: 'conversation', field: 'conversationId' });
  });
});

describe('parseImport: ChatGPT conversations.json', () => {
  const parsed = parseImport('chatgpt', fixture('chatgpt-conversations.json'));

  it('takes the current branch of each conversation, user and assistant text only, and skips empty ones', () => {
    expect(parsed.skipped).toBe(1);
    expect(parsed.conversations.map((c) => c.title)).toEqual(['Trip to Lisbon', 'Regex help']);
    const [trip] = parsed.conversations;
    expect(trip!.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'What should I see in Lisbon in two days?'],
      ['assistant', 'Day 1: Alfama and the Castelo de São Jorge. Day 2: Belém — try a pastel de nata.'],
      ['user', 'Here is a photo of the menu. Which dish is vegetarian?'],
      ['assistant', 'The "Açorda de legumes" is vegetarian. Bom apetite! 🍲 Ελληνικά: καλή όρεξη'],
    ]);
    expect(trip!.messages[0]).toMatchObject({ createdAt: '2024-05-20T10:13:30.500Z', model: null });
    expect(trip!.messages[3]!.model).toBe('gpt-4o-2024-05-13');
  });

  it('refuses malformed files with BAD_USER_INPUT saying where', () => {
    failsWith(() => parseImport('chatgpt', '{not json'), /not valid JSON/);
    failsWith(() => parseImport('chatgpt', '[]'), /no conversations/);
    failsWith(() => parseImport('chatgpt', '[{"title":"x"}]'), /Conversation 1: mapping is missing/);
    failsWith(() => parseImport('chatgpt', JSON.stringify([{ mapping: { a: { parent: 'b' }, b: { parent: 'a' } }, current_node: 'a' }])), /cycle/);
    failsWith(() => parseImport('chatgpt', JSON.stringify([{ mapping: { a: { parent: 'gone' } }, current_node: 'a' }])), /missing/);
    failsWith(() => parseImport('chatgpt', JSON.stringify([{ mapping: { __proto__: {} }, current_node: '__proto__' }])), /missing/);
    const nul = { mapping: { a: { parent: null, message: { author: { role: 'user' }, content: { content_type: 'text', parts: ['x\u0000'] } } } }, current_node: 'a' };
    failsWith(() => parseImport('chatgpt', JSON.stringify([nul])), /Conversation 1, message 1 must not contain NUL/);
    failsWith(() => parseImport('open-webui', JSON.stringify(Array.from({ length: MAX_IMPORTED_CONVERSATIONS + 1 }, () => ({})))), /at most/);
  });
});

describe('parseImport: Open WebUI export', () => {
  const parsed = parseImport('open-webui', fixture('open-webui-export.json'));

  it('follows history.currentId up the parent links; falls back to the messages list', () => {
    expect(parsed.skipped).toBe(0);
    const [probes, old] = parsed.conversations;
    expect(probes!.title).toBe('Kubernetes probes');
    expect(probes!.messages.map((m) => m.content.slice(0, 20))).toEqual(['Liveness vs readines', 'Liveness restarts a ', 'Give me a YAML examp', '```yaml\nlivenessProb']);
    expect(probes!.messages.map((m) => m.model)).toEqual([null, 'llama3.1:8b', null, 'qwen2.5:14b']);
    expect(probes!.messages[0]!.createdAt).toBe('2024-07-03T09:46:40.000Z');
    expect(old!.messages.map((m) => [m.role, m.content, m.model])).toEqual([['user', 'Hi!', null], ['assistant', 'Hello, how can I help?', 'mistral:7b']]);
  });

  it('takes a single chat object too, and refuses what is no Open WebUI chat', () => {
    const single = parseImport('open-webui', JSON.stringify({ title: 'One', chat: { messages: [{ role: 'user', content: 'q' }] } }));
    expect(single.conversations).toEqual([{ title: 'One', messages: [{ role: 'user', content: 'q', createdAt: null, model: null }] }]);
    failsWith(() => parseImport('open-webui', fixture('chatgpt-conversations.json')), /Open WebUI/);
    failsWith(() => parseImport('open-webui', '[{"chat":{"messages":[1]}}]'), /message 1 is not an object/);
  });
});
