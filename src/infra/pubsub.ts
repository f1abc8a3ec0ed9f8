import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';

/**
 * Topics of the real-time channel. Payloads must be JSON (they cross Redis): no bigints, no Dates.
 * `conversation`: what subscribers of a conversation see (deltas, completed replies, messages).
 * `replyControl`: asks whichever instance streams a reply to stop it.
 */
export type Topics = {
  conversation: [conversationId: string, payload: Record<string, unknown>];
  replyControl: [payload: { replyId: string; action: 'cancel' }];
};

export type AppPubSub = ReturnType<typeof createPubSub<Topics>>;

export interface PubSubHandle {
  pubsub: AppPubSub;
  kind: 'memory' | 'redis';
  close(): Promise<void>;
}

/**
 * In-memory by default; with REDIS_URL every instance shares one channel, so a subscriber on
 * instance B sees what instance A publishes. Each subscriber buffers at most 1024 pending items
 * (the repeater's bound); producers coalesce deltas so a slow client is the only one to overflow.
 */
/**
 * The Redis event target fires publish/subscribe/unsubscribe without awaiting them; a command that
 * fails (Redis down, or the connection closing at shutdown) must be logged, not crash the process.
 */
function handlingCommandErrors(client: Redis, onError: (error: unknown) => void): Redis {
  const commands = new Set<PropertyKey>(['publish', 'subscribe', 'unsubscribe']);
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!commands.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        result.catch(onError);
        return result;
      };
    },
  });
}

export function createAppPubSub(redisUrl: string | undefined, onError: (error: unknown) => void = () => {}): PubSubHandle {
  if (!redisUrl) return { pubsub: createPubSub<Topics>(), kind: 'memory', close: async () => {} };
  // No auto-pipelining: it defers commands a tick, so a QUIT at shutdown could overtake the last PUBLISH.
  const options = { maxRetriesPerRequest: null, lazyConnect: false } as const;
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  for (const client of [publishClient, subscribeClient]) client.on('error', () => { /* ioredis reconnects by itself */ });
  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: handlingCommandErrors(publishClient, onError),
    subscribeClient: handlingCommandErrors(subscribeClient, onError),
  });
  return {
    pubsub: createPubSub<Topics>({ eventTarget: eventTarget as never }),
    kind: 'redis',
    async close() {
      // quit() lets commands already queued (a last publish during shutdown) finish first.
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
