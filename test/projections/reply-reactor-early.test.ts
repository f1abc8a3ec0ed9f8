import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/decider.ts';
import { ProviderError, type ChatProvider as Provider, type ChatRequest } from '../../src/infra/ai/provider.ts';
import type { ProviderRegistry } from '../../src/infra/ai/provider-registry.ts';
import type { AppendOptions, EventStore, NewEvent } from '../../src/infra/event-store/port.ts';
import { ReplyReactor } from '../../src/projections/reply-reactor.ts';
import {
  eventually, getConversation, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from '../graphql/support.ts';
import { testLogger } from './runner.contract.ts';

/**
 * The reply's start (AssistantReplyStarted) and the provider request go out together once the
 * user's message is in the log: the request does not wait for the start to be durable, but nothing
 * it streams is published before the start is, and a start that is refused cancels the request.
 */
describe('reply reactor: the provider request beside the append of the reply start', () => {
  let t: TestApp;
  let user: TestUser;
  let reactor: ReplyReactor;
  const log: string[] = [];
  const requests: Array<{ signal: AbortSignal }> = [];
  const gate = { hold: false, refuse: false, failAtOnce: false, release: () => {}, held: Promise.resolve() };

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
    await t.app.replies.stop();
    const real = t.app.store;
    const store: EventStore = Object.assign(Object.create(real) as EventStore, {
      async append(stream: string, events: readonly NewEvent[], options?: AppendOptions) {
        if (events.some((e) => e.type === 'AssistantReplyStarted')) {
          log.push('start appending');
          if (gate.refuse) throw new DomainError('CONFLICT', 'refused by the test');
          if (gate.hold) await gate.held;
          const result = await real.append(stream, events, options);
          log.push('start durable');
          return result;
        }
        return real.append(stream, events, options);
      },
    });
    const registry = t.app.providers;
    const providers: ProviderRegistry = Object.assign(Object.create(registry) as ProviderRegistry, {
      async resolveModel(model?: string) {
        const resolved = await registry.resolveModel(model);
        const provider: Provider = Object.assign(Object.create(resolved.provider) as Provider, {
          streamChat(request: ChatRequest) {
            log.push('provider called');
            requests.push({ signal: request.signal! });
            if (gate.failAtOnce) {
              const refused: AsyncIterableIterator<never> = {
                [Symbol.asyncIterator]: () => refused,
                next: () => Promise.reject(new ProviderError('PROVIDER_AUTH', 'authentication failed (HTTP 401)', { status: 401 })),
              };
              return refused;
            }
            return resolved.provider.streamChat(request);
          },
        });
        return { ...resolved, provider };
      },
    });
    reactor = new ReplyReactor({
      store, readDb: t.app.readDb, projections: t.app.projections, providers, pubsub: t.app.pubsub,
      logger: testLogger().logger, newContext: () => t.app.commandContext(null), leaseRetryMs: 20, errorBackoffMs: 20,
    });
    reactor.start();
  });
  afterAll(async () => {
    await reactor?.stop();
    await t?.close();
  });

  function follow(conversationId: string): { kinds: string[]; stop(): void } {
    const controller = new AbortController();
    const kinds: string[] = [];
    void (async () => {
      for await (const payload of t.app.pubsub.subscribe('conversation', conversationId, { signal: controller.signal })) {
        kinds.push(String(payload.kind));
        if (payload.kind === 'DELTA' && !log.includes('start durable')) kinds.push('DELTA before the start was durable');
      }
    })();
    return { kinds, stop: () => controller.abort() };
  }

  it('calls the provider while the start is being appended, and publishes its text only after REPLY_STARTED', async () => {
    log.length = 0;
    gate.hold = true;
    gate.held = new Promise((resolve) => { gate.release = resolve; });
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
    const feed = follow(conversation.id);
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'early bird' }, user.token);
    await eventually(async () => log.includes('provider called'), 'the provider request');
    expect(log).toEqual(['start appending', 'provider called']);
    gate.hold = false;
    gate.release();
    const reply = await eventually(async () => {
      const found = (await getConversation(t.yoga, user.token, conversation.id)).messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
      return found?.status === 'COMPLETE' ? found : null;
    }, 'the reply to complete');
    expect(reply.content).toBe('You said: early bird');
    await eventually(async () => feed.kinds.includes('REPLY_COMPLETED'), 'REPLY_COMPLETED on the feed');
    feed.stop();
    const live = feed.kinds.filter((kind) => kind !== 'MESSAGE_ADDED');
    expect(live[0]).toBe('REPLY_STARTED');
    expect(live).toContain('DELTA');
    expect(live).not.toContain('DELTA before the start was durable');
  });

  it('announces a reply the provider refuses at once as started, then as failed', async () => {
    gate.failAtOnce = true;
    try {
      for (const round of [1, 2, 3, 4, 5, 6]) {
        const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
        const feed = follow(conversation.id);
        await ok(t.yoga, SEND, { conversationId: conversation.id, content: `refused ${round}` }, user.token);
        await eventually(async () => feed.kinds.includes('REPLY_FAILED'), 'REPLY_FAILED on the feed');
        feed.stop();
        expect(feed.kinds.filter((kind) => kind !== 'MESSAGE_ADDED')).toEqual(['REPLY_STARTED', 'REPLY_FAILED']);
      }
    } finally {
      gate.failAtOnce = false;
    }
  });

  it('cancels the provider request when the start is refused, and publishes nothing of it', async () => {
    log.length = 0;
    gate.refuse = true;
    const before = requests.length;
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-slow-200' });
    const feed = follow(conversation.id);
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'never answered' }, user.token);
    await eventually(async () => requests.length > before && requests.at(-1)!.signal.aborted, 'the early request to be cancelled');
    gate.refuse = false;
    feed.stop();
    expect(feed.kinds.filter((kind) => kind !== 'MESSAGE_ADDED')).toEqual([]);
    const events = await t.app.store.readStream(`conversation-${conversation.id}`);
    expect(events.map((e) => e.type)).not.toContain('AssistantReplyStarted');
  });
});
