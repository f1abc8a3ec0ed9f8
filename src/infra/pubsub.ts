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
export function createAppPubSub(redisUrl: string | undefined): PubSubHandle {
  if (!redisUrl) return { pubsub: createPubSub<Topics>(), kind: 'memory', close: async () => {} };
  const options = { maxRetriesPerRequest: null, enableAutoPipelining: true, lazyConnect: false } as const;
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  for (const client of [publishClient, subscribeClient]) client.on('error', () => { /* ioredis reconnects by itself */ });
  const eventTarget = createRedisEventTarget<CustomEvent>({ publishClient, subscribeClient });
  return {
    pubsub: createPubSub<Topics>({ eventTarget: eventTarget as never }),
    kind: 'redis',
    async close() {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
