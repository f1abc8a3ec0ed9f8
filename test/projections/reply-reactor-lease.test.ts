import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease, ReadDb } from '../../src/infra/read-db/port.ts';
import { ReplyReactor } from '../../src/projections/reply-reactor.ts';
import {
  eventually, getConversation, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from '../graphql/support.ts';
import { testLogger } from './runner.contract.ts';

/** The app's read database, with a reactor lease the test can take away. */
function controllableLeases(db: ReadDb) {
  const control = { granting: true, lost: null as AbortController | null, grantedAtHead: [] as bigint[], headOf: async () => 0n };
  const wrapped: ReadDb = Object.assign(Object.create(db) as ReadDb, {
    async tryLease(name: string): Promise<Lease | null> {
      if (!name.startsWith('reactor:') || !control.granting) return name.startsWith('reactor:') ? null : db.tryLease(name);
      control.lost = new AbortController();
      control.grantedAtHead.push(await control.headOf());
      return { lost: control.lost.signal, release: async () => {} };
    },
  });
  return { control, wrapped };
}

describe('reply reactor and its lease', () => {
  let t: TestApp;
  let user: TestUser;
  let reactor: ReplyReactor;
  let leases: ReturnType<typeof controllableLeases>;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
    await t.app.replies.stop();
    leases = controllableLeases(t.app.readDb);
    leases.control.headOf = () => t.app.store.headPosition();
    reactor = new ReplyReactor({
      store: t.app.store, readDb: leases.wrapped, projections: t.app.projections, providers: t.app.providers, pubsub: t.app.pubsub,
      logger: testLogger().logger, newContext: () => t.app.commandContext(null), leaseRetryMs: 20, errorBackoffMs: 20, draftIntervalMs: 50,
    });
    reactor.start();
  });
  afterAll(async () => {
    await reactor?.stop();
    await t?.close();
  });

  it('stops at once when its lease is lost: the reply streaming here ends INTERRUPTED with its text so far, and nothing is dispatched until it holds the lease again', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-slow-200' });
    const content = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
    await ok(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
    // Streaming, with some of its text already stored.
    await eventually(async () => {
      const reply = (await getConversation(t.yoga, user.token, conversation.id)).messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
      return reply?.status === 'STREAMING' && (reply.content ?? '').length > 0;
    }, 'a streaming reply with stored text');

    leases.control.granting = false;
    leases.control.lost!.abort(new Error('lease connection died'));
    const interrupted = await eventually(async () => {
      const reply = (await getConversation(t.yoga, user.token, conversation.id)).messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
      return reply?.status === 'INTERRUPTED' ? reply : null;
    }, 'the reply to end interrupted');
    expect(interrupted.content!.length).toBeGreaterThan(0);
    expect(`You said: ${content}`.startsWith(interrupted.content!)).toBe(true);
    expect(reactor.leased).toBe(false);

    // A message sent while the lease is elsewhere gets its reply only once the reactor holds it again.
    const second = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
    await ok(t.yoga, SEND, { conversationId: second.id, content: 'after the loss' }, user.token);
    leases.control.granting = true;
    const replied = await eventually(async () => {
      const reply = (await getConversation(t.yoga, user.token, second.id)).messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
      return reply?.status === 'COMPLETE' ? reply : null;
    }, 'the reply after the lease came back');
    expect(replied.content).toBe('You said: after the loss');
    const started = (await t.app.store.readStream(`conversation-${second.id}`)).find((e) => e.type === 'AssistantReplyStarted')!;
    expect(started.position).toBeGreaterThan(leases.control.grantedAtHead.at(-1)!);
  });
});
