import { describe, expect, it } from 'vitest';
import {
  buildPrompt, conversationDecider, conversationPersonalData, conversationUpcasters, MAX_TAG_LENGTH, MAX_TAGS, newestLeaf, pathIds,
  type ConversationCommand, type ConversationEvent,
} from '../../../src/domain/conversation/conversation.ts';
import { currentSchemaVersions, domainUpcasting } from '../../../src/domain/event-versions.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(conversationDecider);
const ids = { conversationId: 'c1', ownerId: 'u1' };
const fold = (events: ConversationEvent[]) => events.reduce(conversationDecider.evolve, conversationDecider.initialState());

const started: ConversationEvent = {
  type: 'ConversationStarted', data: { ...ids, title: 'Trip', model: 'gpt-4o', systemPrompt: 'Be brief.', params: { temperature: 0.5 } },
};
/** Version 1 (upcast: no parentId): follows the newest message. */
const sentV1 = (messageId: string, content: string): ConversationEvent => ({ type: 'UserMessageSent', data: { ...ids, messageId, content, editedMessageId: null } });
const sent = (parentId: string | null, messageId: string, content: string, editedMessageId: string | null = null): ConversationEvent =>
  ({ type: 'UserMessageSent', data: { ...ids, messageId, content, parentId, editedMessageId } });
const replyStarted = (replyId: string, inReplyTo: string): ConversationEvent =>
  ({ type: 'AssistantReplyStarted', data: { ...ids, replyId, inReplyTo, model: 'gpt-4o', params: { temperature: 0.5 } } });
const completed = (replyId: string, text: string): ConversationEvent => ({
  type: 'AssistantReplyCompleted',
  data: { ...ids, replyId, text, model: 'gpt-4o', params: { temperature: 0.5 }, usage: null, timeToFirstTokenMs: 1, latencyMs: 2, finishReason: 'stop', sources: [], provenance: null },
});
const failed = (replyId: string): ConversationEvent => ({
  type: 'AssistantReplyFailed', data: { ...ids, replyId, partialText: 'x', errorCode: 'E', errorMessage: 'e', latencyMs: 1, provenance: null },
});
const regenerationRequested = (messageId: string, replyId: string, previousReplyId: string | null): ConversationEvent =>
  ({ type: 'ReplyRegenerationRequested', data: { ...ids, messageId, replyId, previousReplyId } });
const switched = (messageId: string, leafId: string): ConversationEvent => ({ type: 'ConversationBranchSwitched', data: { ...ids, messageId, leafId } });

const regenerate = (messageId: string, replyId: string, actorId = 'u1'): ConversationCommand =>
  ({ type: 'RegenerateReply', conversationId: 'c1', actorId, messageId, replyId });
const edit = (messageId: string, newMessageId: string, content: string, actorId = 'u1'): ConversationCommand =>
  ({ type: 'EditUserMessage', conversationId: 'c1', actorId, messageId, newMessageId, content });
const switchTo = (messageId: string, actorId = 'u1'): ConversationCommand => ({ type: 'SwitchBranch', conversationId: 'c1', actorId, messageId });
const startReply = (replyId: string, inReplyTo: string): ConversationCommand =>
  ({ type: 'StartAssistantReply', conversationId: 'c1', replyId, inReplyTo, model: 'gpt-4o', params: { temperature: 0.5 } });
const send = (messageId: string, content: string): ConversationCommand => ({ type: 'SendUserMessage', conversationId: 'c1', actorId: 'u1', messageId, content });

/** m1 → r1 → m2 → r2, all completed. */
const linear = [started, sent(null, 'm1', 'Hi'), replyStarted('r1', 'm1'), completed('r1', 'Hello'), sent('r1', 'm2', 'And?'), replyStarted('r2', 'm2'), completed('r2', 'More')];

describe('Conversation decider: the message tree', () => {
  it('reads version-1 messages (no parentId) as a linear chain after the newest message', () => {
    const state = fold([started, sentV1('m1', 'Hi'), replyStarted('r1', 'm1'), failed('r1'), sentV1('m2', 'Again'), replyStarted('r2', 'm2'), completed('r2', 'Ok')]);
    expect(state.nodes.get('m2')?.parentId).toBe('r1');
    expect(pathIds(state.nodes, state.activeLeafId)).toEqual(['m1', 'r1', 'm2', 'r2']);
    // The failed reply is in the tree but not in the prompt, exactly as before branches existed.
    expect(state.history.map((h) => h.messageId)).toEqual(['m1', 'm2', 'r2']);
  });

  it('upcasts UserMessageSent v1 to v2 without inventing a parent', () => {
    expect(currentSchemaVersions.UserMessageSent).toBe(2);
    const upcast = domainUpcasting.upcast({ type: 'UserMessageSent', schemaVersion: 1, data: { ...ids, messageId: 'm1', content: 'Hi' } });
    expect(upcast.data).toEqual({ ...ids, messageId: 'm1', content: 'Hi', editedMessageId: null });
    expect(conversationUpcasters.some((u) => u.type === 'UserMessageSent' && u.fromVersion === 1)).toBe(true);
  });

  it('records the active leaf as the parent of a new message', () =>
    spec.given(linear).when(send('m3', 'Next')).then([sent('r2', 'm3', 'Next')]));

  describe('RegenerateReply', () => {
    it('asks for a sibling of a reply (given the reply or its message)', () => {
      spec.given(linear).when(regenerate('r2', 'r2b')).then([regenerationRequested('m2', 'r2b', 'r2')]);
      spec.given(linear).when(regenerate('m2', 'r2b')).then([regenerationRequested('m2', 'r2b', 'r2')]);
      spec.given([started, sent(null, 'm1', 'Hi')]).when(regenerate('m1', 'r1')).then([regenerationRequested('m1', 'r1', null)]);
    });

    it('lets the reactor start exactly the requested reply, as a sibling; the prompt is the path to the message', () => {
      const given = [...linear, regenerationRequested('m2', 'r2b', 'r2')];
      spec.given(given).when(startReply('r2c', 'm2')).thenFails('CONFLICT', /Another reply/);
      const [event] = conversationDecider.decide(startReply('r2b', 'm2'), fold(given));
      const state = fold([...given, event!]);
      expect(state.nodes.get('m2')?.children).toEqual(['r2', 'r2b']);
      expect(state.activeLeafId).toBe('r2b');
      expect(buildPrompt(state).map((m) => m.content)).toEqual(['Be brief.', 'Hi', 'Hello', 'And?']);
      const done = fold([...given, event!, completed('r2b', 'Other')]);
      expect(done.history.map((h) => h.messageId)).toEqual(['m1', 'r1', 'm2', 'r2b']);
    });

    it('refuses strangers, unknown messages, used ids, archived conversations and a streaming reply', () => {
      spec.given(linear).when(regenerate('r2', 'r2b', 'u2')).thenFails('NOT_FOUND', /Conversation not found/);
      spec.given(linear).when(regenerate('nope', 'r2b')).thenFails('NOT_FOUND', /Message not found/);
      spec.given(linear).when(regenerate('r2', 'm1')).thenFails('CONFLICT', /in use/);
      spec.given([...linear, { type: 'ConversationArchived', data: ids }]).when(regenerate('r2', 'r2b')).thenFails('CONFLICT', /archived/);
      spec.given([...linear, sent('r2', 'm3', 'x'), replyStarted('r3', 'm3')]).when(regenerate('r2', 'r2b')).thenFails('CONFLICT', /still being generated/);
    });
  });

  describe('EditUserMessage', () => {
    it('records the new text as a sibling of the original, with the same parent', () => {
      spec.given(linear).when(edit('m2', 'm2b', 'Or?')).then([sent('r1', 'm2b', 'Or?', 'm2')]);
      spec.given(linear).when(edit('m1', 'm1b', 'Hey')).then([sent(null, 'm1b', 'Hey', 'm1')]);
    });

    it('makes the edit the active branch, whose prompt leaves the old branch out', () => {
      const state = fold([...linear, sent('r1', 'm2b', 'Or?', 'm2')]);
      expect(state.nodes.get('r1')?.children).toEqual(['m2', 'm2b']);
      expect(buildPrompt(state).map((m) => m.content)).toEqual(['Be brief.', 'Hi', 'Hello', 'Or?']);
      expect(state.awaitingReply).toEqual({ messageId: 'm2b', replyId: null });
    });

    it('refuses editing a reply, empty or hostile text, strangers and unknown messages', () => {
      spec.given(linear).when(edit('r1', 'x', 'Hey')).thenFails('BAD_USER_INPUT', /Only a user message/);
      spec.given(linear).when(edit('m1', 'x', '  ')).thenFails('BAD_USER_INPUT');
      spec.given(linear).when(edit('m1', 'x', 'a\u0000b')).thenFails('BAD_USER_INPUT', /NUL/);
      spec.given(linear).when(edit('m1', 'x', 'Hey', 'u2')).thenFails('NOT_FOUND');
      spec.given(linear).when(edit('zz', 'x', 'Hey')).thenFails('NOT_FOUND', /Message not found/);
      spec.given(linear).when(edit('m1', 'r2', 'Hey')).thenFails('CONFLICT', /in use/);
    });
  });

  describe('SwitchBranch', () => {
    const branched = [...linear, sent('r1', 'm2b', 'Or?', 'm2'), replyStarted('r2b', 'm2b'), completed('r2b', 'Either')];

    it('moves the active leaf to the newest descendant of the chosen message', () => {
      spec.given(branched).when(switchTo('m2')).then([switched('m2', 'r2')]);
      spec.given([...branched, switched('m2', 'r2')]).when(switchTo('m1')).then([switched('m1', 'r2b')]);
      const state = fold([...branched, switched('m2', 'r2')]);
      expect(state.history.map((h) => h.messageId)).toEqual(['m1', 'r1', 'm2', 'r2']);
      expect(newestLeaf(state.nodes, 'm1')).toBe('r2b');
    });

    it('does nothing when the branch is already shown; refuses strangers, unknown ids and a streaming reply', () => {
      spec.given(branched).when(switchTo('r2b')).then([]);
      spec.given(branched).when(switchTo('m2', 'u2')).thenFails('NOT_FOUND');
      spec.given(branched).when(switchTo('nope')).thenFails('NOT_FOUND', /Message not found/);
      spec.given([...branched, sent('r2b', 'm3', 'x'), replyStarted('r3', 'm3')]).when(switchTo('m2')).thenFails('CONFLICT');
    });

    it('drops a reply still awaited on the branch left: the reactor then starts none', () => {
      const given = [...linear, sent('r2', 'm3', 'x'), switched('m2', 'r2')];
      spec.given(given).when(startReply('r3', 'm3')).thenFails('CONFLICT', /newer message/);
    });
  });
});

describe('Conversation decider: settings, pins and tags', () => {
  const change = (command: Record<string, unknown>) => ({ conversationId: 'c1', actorId: 'u1', ...command }) as ConversationCommand;

  it('changes the model, parameters and system prompt for later replies; unchanged values record nothing', () => {
    spec.given([started]).when(change({ type: 'ChangeConversationModel', model: ' gpt-5 ' })).then([{ type: 'ConversationModelChanged', data: { ...ids, model: 'gpt-5' } }]);
    spec.given([started]).when(change({ type: 'ChangeConversationModel', model: 'gpt-4o' })).then([]);
    spec.given([started]).when(change({ type: 'ChangeConversationParameters', params: { topP: 0.9 } }))
      .then([{ type: 'ConversationParametersChanged', data: { ...ids, params: { topP: 0.9 } } }]);
    spec.given([started]).when(change({ type: 'ChangeConversationParameters', params: { temperature: 0.5 } })).then([]);
    spec.given([started]).when(change({ type: 'ChangeConversationSystemPrompt', systemPrompt: '  ' }))
      .then([{ type: 'ConversationSystemPromptChanged', data: { ...ids, systemPrompt: null } }]);
    spec.given([started]).when(change({ type: 'ChangeConversationSystemPrompt', systemPrompt: 'Be brief.' })).then([]);
    const state = fold([started, { type: 'ConversationModelChanged', data: { ...ids, model: 'gpt-5' } },
      { type: 'ConversationParametersChanged', data: { ...ids, params: { topP: 0.9 } } },
      { type: 'ConversationSystemPromptChanged', data: { ...ids, systemPrompt: 'Be long.' } }]);
    expect(state).toMatchObject({ model: 'gpt-5', params: { topP: 0.9 }, systemPrompt: 'Be long.' });
    expect(buildPrompt(state)[0]).toEqual({ role: 'system', content: 'Be long.' });
  });

  it('validates settings and hides the conversation from strangers', () => {
    spec.given([started]).when(change({ type: 'ChangeConversationModel', model: '' })).thenFails('BAD_USER_INPUT');
    spec.given([started]).when(change({ type: 'ChangeConversationParameters', params: { temperature: 3 } })).thenFails('BAD_USER_INPUT', /between 0 and 2/);
    spec.given([started]).when(change({ type: 'ChangeConversationSystemPrompt', systemPrompt: 'x'.repeat(20_001) })).thenFails('BAD_USER_INPUT');
    spec.given([started]).when(change({ type: 'ChangeConversationModel', model: 'x', actorId: 'u2' })).thenFails('NOT_FOUND');
  });

  it('pins and unpins idempotently', () => {
    spec.given([started]).when(change({ type: 'PinConversation' })).then([{ type: 'ConversationPinned', data: ids }]);
    spec.given([started, { type: 'ConversationPinned', data: ids }]).when(change({ type: 'PinConversation' })).then([]);
    spec.given([started, { type: 'ConversationPinned', data: ids }]).when(change({ type: 'UnpinConversation' })).then([{ type: 'ConversationUnpinned', data: ids }]);
    spec.given([started]).when(change({ type: 'UnpinConversation' })).then([]);
    spec.given([started]).when(change({ type: 'PinConversation', actorId: 'u2' })).thenFails('NOT_FOUND');
  });

  it('tags with normalized, case-insensitively unique tags within the limits', () => {
    const tagged = (tag: string): ConversationEvent => ({ type: 'ConversationTagged', data: { ...ids, tag } });
    spec.given([started]).when(change({ type: 'TagConversation', tag: '  Road   trip ' })).then([tagged('Road trip')]);
    spec.given([started, tagged('Road trip')]).when(change({ type: 'TagConversation', tag: 'ROAD TRIP' })).then([]);
    spec.given([started, tagged('Road trip')]).when(change({ type: 'UntagConversation', tag: 'road trip' }))
      .then([{ type: 'ConversationUntagged', data: { ...ids, tag: 'Road trip' } }]);
    spec.given([started]).when(change({ type: 'UntagConversation', tag: 'none' })).then([]);
    spec.given([started]).when(change({ type: 'TagConversation', tag: 'x'.repeat(MAX_TAG_LENGTH + 1) })).thenFails('BAD_USER_INPUT', /1 to 40/);
    spec.given([started]).when(change({ type: 'TagConversation', tag: 'a\tb' })).thenFails('BAD_USER_INPUT');
    const full = [started, ...Array.from({ length: MAX_TAGS }, (_, i) => tagged(`t${i}`))];
    spec.given(full).when(change({ type: 'TagConversation', tag: 'more' })).thenFails('BAD_USER_INPUT', /at most 20/);
    expect(fold([...full, { type: 'ConversationUntagged', data: { ...ids, tag: 'T3' } }]).tags).toHaveLength(MAX_TAGS - 1);
  });

  it('declares system prompts and tags personal', () => {
    expect(conversationPersonalData.ConversationSystemPromptChanged?.fields).toEqual(['systemPrompt']);
    expect(conversationPersonalData.ConversationTagged?.fields).toEqual(['tag']);
    expect(conversationPersonalData.ConversationUntagged?.fields).toEqual(['tag']);
  });
});
