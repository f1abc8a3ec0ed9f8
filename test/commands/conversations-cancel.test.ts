import { afterAll, describe, expect, it } from 'vitest';
import { createConversationCommands } from '../../src/commands/conversations.ts';
import { executeCommand } from '../../src/commands/execute-command.ts';
import { conversationDecider, conversationStream } from '../../src/domain/conversation/conversation.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { commandContext, domainEventStore } from '../support/domain-event-store.ts';

// cancelReply asks whichever instance generates the reply to stop it, and must tell its caller where
// the ending event sits in the log: the read-your-writes wait that follows needs that position (the
// log's head, on PostgreSQL, can trail an event another instance has just committed).
describe('cancelReply', () => {
  const { store, close } = domainEventStore();
  afterAll(close);
  const cancelRequests: string[] = [];
  let onCancel: (replyId: string) => void = () => {};
  const commands = createConversationCommands({
    store, models: { isConfigured: true, resolve: async () => ({}) }, defaultModel: 'm',
    providerNotConfigured: () => new Error('no provider'),
    requestCancel: (replyId) => { cancelRequests.push(replyId); onCancel(replyId); },
    cancelTimeoutMs: 30_000,
  });

  const conversationWithActiveReply = async (ownerId: string) => {
    const conversationId = uuidv7();
    const messageId = uuidv7();
    const replyId = uuidv7();
    const stream = conversationStream(conversationId);
    for (const command of [
      { type: 'StartConversation', conversationId, ownerId, title: 'Q', model: 'm' },
      { type: 'SendUserMessage', conversationId, actorId: ownerId, messageId, content: 'hello' },
      { type: 'StartAssistantReply', conversationId, replyId, inReplyTo: messageId, model: 'm' },
    ] as const) await executeCommand(store, conversationDecider, stream, command, commandContext(ownerId));
    return { conversationId, replyId, stream };
  };

  it('returns the position of the cancellation the generating instance recorded, not the head of the log', async () => {
    const { conversationId, replyId, stream } = await conversationWithActiveReply('u1');
    let generatorPosition: bigint | null = null;
    const generator = new Promise<void>((resolve, reject) => {
      onCancel = () => {
        void executeCommand(store, conversationDecider, stream,
          { type: 'CancelAssistantReply', conversationId, replyId, actorId: 'u1', partialText: 'so far', latencyMs: 5 }, commandContext('u1'))
          .then(async (result) => {
            generatorPosition = result.position;
            // Later events elsewhere in the log move its head past the cancellation.
            await executeCommand(store, conversationDecider, conversationStream(uuidv7()),
              { type: 'StartConversation', conversationId: uuidv7(), ownerId: 'u2', title: 'other', model: 'm' }, commandContext('u2'));
            resolve();
          }, reject);
      };
    });
    const answer = await commands.cancelReply({ conversationId, replyId, actorId: 'u1' }, commandContext('u1'));
    await generator;
    expect(cancelRequests).toContain(replyId);
    expect(answer.recordedHere).toBeNull();
    expect(generatorPosition).not.toBeNull();
    expect(answer.ended).toEqual({ position: generatorPosition, events: [{ type: 'AssistantReplyCancelled' }] });
  });

  it('for a reply that had already finished, returns where it ended without asking anyone to stop it', async () => {
    const { conversationId, replyId, stream } = await conversationWithActiveReply('u3');
    const completed = await executeCommand(store, conversationDecider, stream,
      { type: 'CompleteAssistantReply', conversationId, replyId, text: 'done', usage: null, timeToFirstTokenMs: null, latencyMs: 3, finishReason: null }, commandContext(null));
    cancelRequests.length = 0;
    const answer = await commands.cancelReply({ conversationId, replyId, actorId: 'u3' }, commandContext('u3'));
    expect(cancelRequests).toEqual([]);
    expect(answer).toEqual({ recordedHere: null, ended: { position: completed.position, events: [{ type: 'AssistantReplyCompleted' }] } });
  });

  it("records the cancellation itself when no instance does before the timeout, and refuses someone else's reply", async () => {
    const quick = createConversationCommands({
      store, models: { isConfigured: true, resolve: async () => ({}) }, defaultModel: 'm',
      providerNotConfigured: () => new Error('no provider'), requestCancel: () => {}, cancelTimeoutMs: 100,
    });
    const { conversationId, replyId } = await conversationWithActiveReply('u4');
    await expect(quick.cancelReply({ conversationId, replyId, actorId: 'intruder' }, commandContext('intruder')))
      .rejects.toMatchObject({ code: 'NOT_FOUND' });
    const answer = await quick.cancelReply({ conversationId, replyId, actorId: 'u4' }, commandContext('u4'));
    expect(answer.recordedHere?.events.map((e) => e.type)).toEqual(['AssistantReplyCancelled']);
    expect(answer.ended).toEqual({ position: answer.recordedHere!.position, events: answer.recordedHere!.events });
  });
});
