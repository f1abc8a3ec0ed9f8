import { describe, expect, it } from 'vitest';
import {
  buildPrompt, conversationDecider, conversationPersonalData, conversationStream, DEFAULT_TITLE, MAX_MESSAGE_LENGTH,
  MAX_MODEL_LENGTH, MAX_SYSTEM_PROMPT_LENGTH, MAX_TITLE_LENGTH, type ConversationCommand, type ConversationEvent,
} from '../../../src/domain/conversation/conversation.ts';
import { personalDataRules } from '../../../src/domain/personal-data.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(conversationDecider);
const ids = { conversationId: 'c1', ownerId: 'u1' };
const fold = (events: ConversationEvent[]) => events.reduce(conversationDecider.evolve, conversationDecider.initialState());

const started: ConversationEvent = {
  type: 'ConversationStarted',
  data: { ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: 'Be brief.', params: { temperature: 0.5 } },
};
const sent = (messageId: string, content: string): ConversationEvent =>
  ({ type: 'UserMessageSent', data: { ...ids, messageId, content } });
/** As recorded now (version 2): after its parent in the message tree. */
const sentAfter = (parentId: string | null, messageId: string, content: string, editedMessageId: string | null = null): ConversationEvent =>
  ({ type: 'UserMessageSent', data: { ...ids, messageId, content, parentId, editedMessageId } });
const replyStarted = (replyId: string, inReplyTo: string): ConversationEvent =>
  ({ type: 'AssistantReplyStarted', data: { ...ids, replyId, inReplyTo, model: 'gpt-4o', params: { temperature: 0.5 } } });
const completed = (replyId: string, text: string): ConversationEvent => ({
  type: 'AssistantReplyCompleted',
  data: {
    ...ids, replyId, text, model: 'gpt-4o', params: { temperature: 0.5 },
    usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, timeToFirstTokenMs: 120, latencyMs: 900, finishReason: 'stop', sources: [], provenance: null,
  },
});
const cancelled = (replyId: string): ConversationEvent =>
  ({ type: 'AssistantReplyCancelled', data: { ...ids, replyId, partialText: 'Hal', latencyMs: 50, provenance: null } });
const archived: ConversationEvent = { type: 'ConversationArchived', data: ids };
const deleted: ConversationEvent = { type: 'ConversationDeleted', data: ids };

const start = (overrides: Partial<Extract<ConversationCommand, { type: 'StartConversation' }>> = {}): ConversationCommand =>
  ({ type: 'StartConversation', ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: 'Be brief.', params: { temperature: 0.5 }, ...overrides });
const send = (messageId: string, content: string, actorId = 'u1'): ConversationCommand =>
  ({ type: 'SendUserMessage', conversationId: 'c1', actorId, messageId, content });
const startReply = (replyId: string, inReplyTo: string): ConversationCommand =>
  ({ type: 'StartAssistantReply', conversationId: 'c1', replyId, inReplyTo, model: 'gpt-4o', params: { temperature: 0.5 } });
const complete = (replyId: string, text = 'Hello'): ConversationCommand => ({
  type: 'CompleteAssistantReply', conversationId: 'c1', replyId, text,
  usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, timeToFirstTokenMs: 120, latencyMs: 900, finishReason: 'stop',
});
const cancel = (replyId: string, actorId = 'u1'): ConversationCommand =>
  ({ type: 'CancelAssistantReply', conversationId: 'c1', actorId, replyId, partialText: 'Hal', latencyMs: 50 });
const fail = (replyId: string): ConversationCommand => ({
  type: 'FailAssistantReply', conversationId: 'c1', replyId, partialText: 'Ha', errorCode: 'PROVIDER_ERROR', errorMessage: 'boom', latencyMs: 70,
});
const interrupt = (replyId: string): ConversationCommand =>
  ({ type: 'InterruptAssistantReply', conversationId: 'c1', replyId, partialText: 'H' });

/** One conversation with a message whose reply is streaming. */
const streaming = [started, sent('m1', 'Hi'), replyStarted('r1', 'm1')];

describe('Conversation decider', () => {
  it('names the stream', () => expect(conversationStream('c1')).toBe('conversation-c1'));

  describe('StartConversation', () => {
    it('starts with a trimmed title and model, and only the known parameters', () =>
      spec.given([]).when(start({ title: '  Trip ', model: ' gpt-4o ', params: { temperature: 0.5, unknown: 3 } as never }))
        .then([started]));

    it('uses the default title for an empty one, and no system prompt for a blank one', () =>
      spec.given([]).when(start({ title: '   ', systemPrompt: '  ', params: undefined }))
        .then([{ type: 'ConversationStarted', data: { ...ids, title: DEFAULT_TITLE, model: 'gpt-4o', systemPrompt: null, params: {} } }]));

    it('keeps a system prompt exactly as written', () =>
      spec.given([]).when(start({ systemPrompt: ' Be brief.\n', params: null }))
        .then([{ type: 'ConversationStarted', data: { ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: ' Be brief.\n', params: {} } }]));

    it('refuses an existing conversation', () =>
      spec.given([started]).when(start()).thenFails('CONFLICT', /already exists/));

    it('refuses to reuse the id of a deleted conversation', () =>
      spec.given([started, deleted]).when(start()).thenFails('CONFLICT'));

    it('refuses an over-long title with the limit in the message', () =>
      spec.given([]).when(start({ title: 't'.repeat(MAX_TITLE_LENGTH + 1) })).thenFails('BAD_USER_INPUT', /1 to 200/));

    it('accepts a title of exactly the limit', () =>
      expect(conversationDecider.decide(start({ title: 't'.repeat(MAX_TITLE_LENGTH) }), conversationDecider.initialState())).toHaveLength(1));

    it('refuses an over-long system prompt with the limit in the message', () =>
      spec.given([]).when(start({ systemPrompt: 's'.repeat(MAX_SYSTEM_PROMPT_LENGTH + 1) })).thenFails('BAD_USER_INPUT', /20000/));

    it('refuses an empty or over-long model with the limit in the message', () => {
      spec.given([]).when(start({ model: '  ' })).thenFails('BAD_USER_INPUT', /1 to 200/);
      spec.given([]).when(start({ model: 'm'.repeat(MAX_MODEL_LENGTH + 1) })).thenFails('BAD_USER_INPUT', /1 to 200/);
    });

    it('refuses parameters out of range with the range in the message', () => {
      spec.given([]).when(start({ params: { temperature: 2.1 } })).thenFails('BAD_USER_INPUT', /between 0 and 2/);
      spec.given([]).when(start({ params: { temperature: -0.1 } })).thenFails('BAD_USER_INPUT', /between 0 and 2/);
      spec.given([]).when(start({ params: { temperature: Number.NaN } })).thenFails('BAD_USER_INPUT', /Temperature/);
      spec.given([]).when(start({ params: { topP: 1.01 } })).thenFails('BAD_USER_INPUT', /between 0 and 1/);
      spec.given([]).when(start({ params: { maxTokens: 0 } })).thenFails('BAD_USER_INPUT', /between 1 and 1000000/);
      spec.given([]).when(start({ params: { maxTokens: 1_000_001 } })).thenFails('BAD_USER_INPUT', /between 1 and 1000000/);
      spec.given([]).when(start({ params: { maxTokens: 10.5 } })).thenFails('BAD_USER_INPUT', /integer/);
    });

    it('accepts parameters at the edges of their ranges', () =>
      spec.given([]).when(start({ params: { temperature: 2, topP: 0, maxTokens: 1_000_000 } }))
        .then([{ ...started, data: { ...started.data, params: { temperature: 2, topP: 0, maxTokens: 1_000_000 } } } as ConversationEvent]));

    it('refuses a missing owner', () =>
      spec.given([]).when(start({ ownerId: '' })).thenFails('BAD_USER_INPUT', /Owner/));
  });

  describe('RenameConversation', () => {
    const rename = (title: string, actorId = 'u1'): ConversationCommand => ({ type: 'RenameConversation', conversationId: 'c1', actorId, title });

    it('renames with a trimmed title', () =>
      spec.given([started]).when(rename(' Holiday ')).then([{ type: 'ConversationRenamed', data: { ...ids, title: 'Holiday' } }]));

    it('does nothing when the title is the same', () =>
      spec.given([started]).when(rename('Trip ')).then([]));

    it('is allowed while archived', () =>
      spec.given([started, archived]).when(rename('Holiday')).then([{ type: 'ConversationRenamed', data: { ...ids, title: 'Holiday' } }]));

    it('refuses an empty or over-long title with the limit in the message', () => {
      spec.given([started]).when(rename('  ')).thenFails('BAD_USER_INPUT', /1 to 200/);
      spec.given([started]).when(rename('t'.repeat(201))).thenFails('BAD_USER_INPUT', /1 to 200/);
    });

    it('hides the conversation from a non-owner (NOT_FOUND, not FORBIDDEN)', () =>
      spec.given([started]).when(rename('Mine now', 'u2')).thenFails('NOT_FOUND'));

    it('refuses a missing or deleted conversation', () => {
      spec.given([]).when(rename('x')).thenFails('NOT_FOUND');
      spec.given([started, deleted]).when(rename('x')).thenFails('NOT_FOUND');
    });
  });

  describe('ArchiveConversation / UnarchiveConversation', () => {
    const archive = (actorId = 'u1'): ConversationCommand => ({ type: 'ArchiveConversation', conversationId: 'c1', actorId });
    const unarchive = (actorId = 'u1'): ConversationCommand => ({ type: 'UnarchiveConversation', conversationId: 'c1', actorId });
    const unarchived: ConversationEvent = { type: 'ConversationUnarchived', data: ids };

    it('archives and unarchives', () => {
      spec.given([started]).when(archive()).then([archived]);
      spec.given([started, archived]).when(unarchive()).then([unarchived]);
    });

    it('is idempotent', () => {
      spec.given([started, archived]).when(archive()).then([]);
      spec.given([started]).when(unarchive()).then([]);
      spec.given([started, archived, unarchived]).when(unarchive()).then([]);
    });

    it('hides the conversation from a non-owner', () => {
      spec.given([started]).when(archive('u2')).thenFails('NOT_FOUND');
      spec.given([started, archived]).when(unarchive('u2')).thenFails('NOT_FOUND');
    });

    it('refuses a missing or deleted conversation', () => {
      spec.given([]).when(archive()).thenFails('NOT_FOUND');
      spec.given([started, deleted]).when(archive()).thenFails('NOT_FOUND');
      spec.given([started, archived, deleted]).when(unarchive()).thenFails('NOT_FOUND');
    });
  });

  describe('DeleteConversation', () => {
    const del = (actorId = 'u1'): ConversationCommand => ({ type: 'DeleteConversation', conversationId: 'c1', actorId });

    it('deletes', () => spec.given([started]).when(del()).then([deleted]));

    it('deletes even while a reply is streaming', () => spec.given(streaming).when(del()).then([deleted]));

    it('hides the conversation from a non-owner', () => spec.given([started]).when(del('u2')).thenFails('NOT_FOUND'));

    it('refuses a missing conversation', () => spec.given([]).when(del()).thenFails('NOT_FOUND'));

    it('is terminal: every later command fails with NOT_FOUND', () => {
      const after = spec.given([...streaming, deleted]);
      after.when(del()).thenFails('NOT_FOUND');
      after.when(send('m2', 'Hi')).thenFails('NOT_FOUND');
      after.when(startReply('r2', 'm1')).thenFails('NOT_FOUND');
      after.when(complete('r1')).thenFails('NOT_FOUND');
      after.when(cancel('r1')).thenFails('NOT_FOUND');
      after.when(fail('r1')).thenFails('NOT_FOUND');
      after.when(interrupt('r1')).thenFails('NOT_FOUND');
    });
  });

  describe('SendUserMessage', () => {
    it('records the content exactly as sent', () =>
      spec.given([started]).when(send('m1', '  Hi there\n')).then([sentAfter(null, 'm1', '  Hi there\n')]));

    it('refuses empty content and content over the limit (checked after trimming)', () => {
      spec.given([started]).when(send('m1', ' \n ')).thenFails('BAD_USER_INPUT', /1 to 32000/);
      spec.given([started]).when(send('m1', 'x'.repeat(MAX_MESSAGE_LENGTH + 1))).thenFails('BAD_USER_INPUT', /1 to 32000/);
    });

    it('accepts content at the limit plus surrounding whitespace', () =>
      spec.given([started]).when(send('m1', ` ${'x'.repeat(MAX_MESSAGE_LENGTH)} `)).then([sentAfter(null, 'm1', ` ${'x'.repeat(MAX_MESSAGE_LENGTH)} `)]));

    it('hides the conversation from a non-owner', () =>
      spec.given([started]).when(send('m1', 'Hi', 'u2')).thenFails('NOT_FOUND'));

    it('refuses a missing conversation', () => spec.given([]).when(send('m1', 'Hi')).thenFails('NOT_FOUND'));

    it('refuses an archived conversation', () =>
      spec.given([started, archived]).when(send('m1', 'Hi')).thenFails('CONFLICT', /Conversation is archived/));

    it('allows sending again after unarchiving', () =>
      spec.given([started, archived, { type: 'ConversationUnarchived', data: ids }]).when(send('m1', 'Hi')).then([sentAfter(null, 'm1', 'Hi')]));

    it('refuses while a reply is being generated', () =>
      spec.given(streaming).when(send('m2', 'And?')).thenFails('CONFLICT', /A reply is still being generated/));

    it('allows the next message once the reply finished, whichever way', () => {
      spec.given([...streaming, completed('r1', 'Hello')]).when(send('m2', 'And?')).then([sentAfter('r1', 'm2', 'And?')]);
      spec.given([...streaming, cancelled('r1')]).when(send('m2', 'And?')).then([sentAfter('r1', 'm2', 'And?')]);
    });

    it('is idempotent for a retried message (same id, same content), even while its reply streams', () => {
      spec.given([started, sent('m1', 'Hi')]).when(send('m1', 'Hi')).then([]);
      spec.given(streaming).when(send('m1', 'Hi')).then([]);
    });

    it('refuses another message under a used id', () => {
      spec.given([started, sent('m1', 'Hi')]).when(send('m1', 'Bye')).thenFails('CONFLICT', /already in use/);
      spec.given([...streaming, completed('r1', 'Hello')]).when(send('r1', 'Bye')).thenFails('CONFLICT', /already in use/);
    });
  });

  describe('StartAssistantReply', () => {
    it('starts a reply to the latest message', () =>
      spec.given([started, sent('m1', 'Hi')]).when(startReply('r1', 'm1')).then([replyStarted('r1', 'm1')]));

    it('is idempotent for the same reply id', () => {
      spec.given(streaming).when(startReply('r1', 'm1')).then([]);
      spec.given([...streaming, completed('r1', 'Hello')]).when(startReply('r1', 'm1')).then([]);
    });

    it('refuses an unknown message', () =>
      spec.given([started]).when(startReply('r1', 'nope')).thenFails('NOT_FOUND', /Message/));

    it('refuses a message that already has a reply', () =>
      spec.given([...streaming, completed('r1', 'Hello')]).when(startReply('r2', 'm1')).thenFails('CONFLICT', /already has a reply/));

    it('refuses a message that is not the latest', () =>
      spec.given([started, sent('m1', 'Hi'), sent('m2', 'Hello?')]).when(startReply('r1', 'm1')).thenFails('CONFLICT', /newer message/));

    it('refuses an id already used by a message', () =>
      spec.given([started, sent('m1', 'Hi')]).when(startReply('m1', 'm1')).thenFails('CONFLICT', /already in use/));

    it('validates the model and parameters', () => {
      spec.given([started, sent('m1', 'Hi')]).when({ ...startReply('r1', 'm1'), model: '' } as ConversationCommand)
        .thenFails('BAD_USER_INPUT', /1 to 200/);
      spec.given([started, sent('m1', 'Hi')]).when({ ...startReply('r1', 'm1'), params: { topP: 2 } } as ConversationCommand)
        .thenFails('BAD_USER_INPUT', /between 0 and 1/);
    });

    it('is allowed in an archived conversation (the message came before)', () =>
      spec.given([started, sent('m1', 'Hi'), archived]).when(startReply('r1', 'm1')).then([replyStarted('r1', 'm1')]));
  });

  describe('terminal reply events', () => {
    it('completes a streaming reply with the parameters it started with', () =>
      spec.given(streaming).when(complete('r1', 'Hello')).then([completed('r1', 'Hello')]));

    it('records the model the provider reports, and whole milliseconds', () =>
      spec.given(streaming).when({ ...complete('r1', 'Hello'), model: 'gpt-4o-2024-08-06', latencyMs: 900.4 } as ConversationCommand)
        .then([{ ...completed('r1', 'Hello'), data: { ...completed('r1', 'Hello').data, model: 'gpt-4o-2024-08-06' } } as ConversationEvent]));

    it('refuses a negative latency', () =>
      spec.given(streaming).when({ ...complete('r1'), latencyMs: -1 } as ConversationCommand).thenFails('BAD_USER_INPUT', /latencyMs/));

    it('cancels, fails or interrupts a streaming reply', () => {
      spec.given(streaming).when(cancel('r1')).then([cancelled('r1')]);
      spec.given(streaming).when(fail('r1')).then([{
        type: 'AssistantReplyFailed',
        data: { ...ids, replyId: 'r1', partialText: 'Ha', errorCode: 'PROVIDER_ERROR', errorMessage: 'boom', latencyMs: 70, provenance: null },
      }]);
      spec.given(streaming).when(interrupt('r1')).then([{ type: 'AssistantReplyInterrupted', data: { ...ids, replyId: 'r1', partialText: 'H' } }]);
    });

    it('refuses a reply that was never started', () => {
      spec.given([started, sent('m1', 'Hi')]).when(complete('r1')).thenFails('NOT_FOUND', /Reply/);
      spec.given([started, sent('m1', 'Hi')]).when(cancel('r1')).thenFails('NOT_FOUND', /Reply/);
      spec.given([started, sent('m1', 'Hi')]).when(fail('r1')).thenFails('NOT_FOUND', /Reply/);
      spec.given([started, sent('m1', 'Hi')]).when(interrupt('r1')).thenFails('NOT_FOUND', /Reply/);
    });

    it('is idempotent: any second terminal command for a finished reply records nothing', () => {
      for (const finished of [completed('r1', 'Hello'), cancelled('r1')]) {
        const given = spec.given([...streaming, finished]);
        given.when(complete('r1')).then([]);
        given.when(cancel('r1')).then([]);
        given.when(fail('r1')).then([]);
        given.when(interrupt('r1')).then([]);
      }
    });

    it('hides the conversation from a non-owner who cancels', () =>
      spec.given(streaming).when(cancel('r1', 'u2')).thenFails('NOT_FOUND'));
  });

  describe('state and buildPrompt', () => {
    it('keeps the owner, settings and the active reply', () => {
      const state = fold(streaming);
      expect(state).toMatchObject({
        status: 'active', ownerId: 'u1', title: 'Trip', model: 'gpt-4o', systemPrompt: 'Be brief.', params: { temperature: 0.5 },
        archived: false, activeReply: { replyId: 'r1', inReplyTo: 'm1' },
      });
      expect(fold([...streaming, completed('r1', 'Hello')]).activeReply).toBeNull();
    });

    it('counts only completed replies as assistant turns', () => {
      const state = fold([
        ...streaming, completed('r1', 'Hello'),
        sent('m2', 'Tell me more'), replyStarted('r2', 'm2'), cancelled('r2'),
        sent('m3', 'Please'), replyStarted('r3', 'm3'),
      ]);
      expect(state.history).toEqual([
        { role: 'user', content: 'Hi', messageId: 'm1' },
        { role: 'assistant', content: 'Hello', messageId: 'r1' },
        { role: 'user', content: 'Tell me more', messageId: 'm2' },
        { role: 'user', content: 'Please', messageId: 'm3' },
      ]);
      expect(buildPrompt(state)).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'Tell me more' },
        { role: 'user', content: 'Please' },
      ]);
    });

    it('leaves out the system prompt when there is none', () => {
      const state = fold([{ ...started, data: { ...started.data, systemPrompt: null } } as ConversationEvent, sent('m1', 'Hi')]);
      expect(buildPrompt(state)).toEqual([{ role: 'user', content: 'Hi' }]);
    });
  });

  describe('personal data', () => {
    it('declares the owner as subject of the personal fields, and is part of the codec rules', () => {
      const keyScope = { kind: 'conversation', field: 'conversationId' }; // sealed under the conversation's own key
      expect(conversationPersonalData.ConversationStarted).toEqual({ subjectField: 'ownerId', fields: ['title', 'systemPrompt'], keyScope });
      expect(conversationPersonalData.UserMessageSent).toEqual({ subjectField: 'ownerId', fields: ['content'], keyScope });
      for (const rule of Object.values(conversationPersonalData)) expect(rule.keyScope).toEqual(keyScope);
      expect(conversationPersonalData.AssistantReplyCompleted?.fields).toEqual(['text']);
      for (const type of ['AssistantReplyCancelled', 'AssistantReplyFailed', 'AssistantReplyInterrupted']) {
        expect(conversationPersonalData[type]?.fields).toEqual(['partialText']);
      }
      for (const [type, rule] of Object.entries(conversationPersonalData)) expect(personalDataRules[type]).toEqual(rule);
    });

    it('puts conversationId and ownerId in every event', () => {
      const events: ConversationEvent[] = [
        ...streaming, completed('r1', 'x'), cancelled('r1'), archived, deleted,
        ...conversationDecider.decide(fail('r1'), fold(streaming)),
        ...conversationDecider.decide(interrupt('r1'), fold(streaming)),
        ...conversationDecider.decide({ type: 'UnarchiveConversation', conversationId: 'c1', actorId: 'u1' }, fold([started, archived])),
      ];
      for (const event of events) expect(event.data).toMatchObject(ids);
    });
  });
});

describe('Conversation decider: hostile text', () => {
  const bad = ['bad\u0000text', 'lone \uD800 surrogate'];
  it('refuses NUL and lone surrogates in titles, system prompts, model names and messages', () => {
    for (const value of bad) {
      spec.given([]).when(start({ title: value })).thenFails('BAD_USER_INPUT', /^Title/);
      spec.given([]).when(start({ systemPrompt: value })).thenFails('BAD_USER_INPUT', /^System prompt/);
      spec.given([]).when(start({ model: value })).thenFails('BAD_USER_INPUT', /^Model/);
      spec.given([started]).when(send('m1', value)).thenFails('BAD_USER_INPUT', /^Message/);
      spec.given([started]).when({ type: 'RenameConversation', conversationId: 'c1', actorId: 'u1', title: value })
        .thenFails('BAD_USER_INPUT', /^Title/);
    }
  });

  it('refuses line breaks in a title but keeps them in messages', () => {
    spec.given([]).when(start({ title: 'two\nlines' })).thenFails('BAD_USER_INPUT', /control characters/);
    spec.given([started]).when(send('m1', 'two\nlines')).then([sentAfter(null, 'm1', 'two\nlines')]);
  });

  it('records what a model streamed with NUL and lone surrogates made safe', () => {
    const [event] = conversationDecider.decide(complete('r1', 'he\u0000llo \uDC00'), fold(streaming));
    expect((event!.data as { text: string }).text).toBe('he\uFFFDllo \uFFFD');
    const [failed] = conversationDecider.decide({ ...fail('r1'), partialText: '\u0000', errorMessage: 'bo\u0000om' } as ConversationCommand, fold(streaming));
    expect(failed!.data).toMatchObject({ partialText: '\uFFFD', errorMessage: 'bo\uFFFDom' });
    const [interrupted] = conversationDecider.decide({ ...interrupt('r1'), partialText: 'a\uD800' } as ConversationCommand, fold(streaming));
    expect(interrupted!.data).toMatchObject({ partialText: 'a\uFFFD' });
    const [cancelledEvent] = conversationDecider.decide({ ...cancel('r1'), partialText: '\u0000x' } as ConversationCommand, fold(streaming));
    expect(cancelledEvent!.data).toMatchObject({ partialText: '\uFFFDx' });
  });
});
