import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { ReplyReactor } from '../../src/projections/reply-reactor.ts';
import {
  eventually, getConversation, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from '../graphql/support.ts';
import { testLogger } from './runner.contract.ts';

/** The app's store, counting the conversation streams read through it. */
function countingStreamReads(store: EventStore) {
  const reads: string[] = [];
  const wrapped: EventStore = Object.assign(Object.create(store) as EventStore, {
    readStream: (...args: Parameters<EventStore['readStream']>) => {
      reads.push(args[0]);
      return store.readStream(...args);
    },
  });
  return { reads, wrapped };
}

describe('reply reactor replaying messages from before its start (its checkpoint was lost with the read models)', () => {
  let t: TestApp;
  let user: TestUser;
  let reactor: ReplyReactor | undefined;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await reactor?.stop();
    await t?.close();
  });

  const assistantReplies = async (conversationId: string) =>
    (await getConversation(t.yoga, user.token, conversationId)).messages.edges.map((e) => e.node).filter((m) => m.role === 'ASSISTANT');

  it('passes over a message whose reply the read model already has without reading its conversation, and still answers one left unanswered', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
    for (const content of ['first question', 'second question']) {
      await ok(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
      const count = content === 'first question' ? 1 : 2;
      await eventually(async () => (await assistantReplies(conversation.id)).filter((m) => m.status === 'COMPLETE').length === count, `${count} completed replies`);
    }
    // A message sent while no reactor runs, then the reactor's checkpoint gone.
    await t.app.replies.stop();
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'third question' }, user.token);
    await t.app.readDb.query(`DELETE FROM reactor_checkpoints WHERE name = 'assistant-replies'`);

    const store = countingStreamReads(t.app.store);
    reactor = new ReplyReactor({
      store: store.wrapped, readDb: t.app.readDb, projections: t.app.projections, providers: t.app.providers, pubsub: t.app.pubsub,
      logger: testLogger().logger, newContext: () => t.app.commandContext(null), leaseRetryMs: 20, errorBackoffMs: 20, draftIntervalMs: 50,
    });
    reactor.start();
    await eventually(async () => (await assistantReplies(conversation.id)).filter((m) => m.status === 'COMPLETE').length === 3, 'the third reply');
    const replies = await assistantReplies(conversation.id);
    expect(replies).toHaveLength(3);
    expect(replies.map((m) => m.content)).toEqual(['You said: first question', 'You said: second question', 'You said: third question']);
    const replayReads = store.reads.length;
    // What answering one message reads, measured on a live one.
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'fourth question' }, user.token);
    await eventually(async () => (await assistantReplies(conversation.id)).filter((m) => m.status === 'COMPLETE').length === 4, 'the fourth reply');
    const oneReplyReads = store.reads.length - replayReads;
    expect(oneReplyReads).toBeGreaterThan(0);
    // The replay read only for the unanswered message; before, each answered one was loaded and refused too.
    expect(replayReads).toBe(oneReplyReads);
    expect(new Set(store.reads).size).toBe(1);
  });
});
