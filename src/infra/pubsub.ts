import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';

/**
 * Topics of the real-time channel. Payloads must be JSON (they cross Redis): no bigints, no Dates.
 * `conversation`: what subscribers of a conversation see (deltas, completed replies, messages).
 * `replyControl`: asks whichever instance streams a reply to stop it.
 */
export type Topics = {
  conversation: [conversationId: string, payload: Record<string, unknown>];
  /** A cancel names who asked, and in which request, so the recorded cancellation carries them. */
  replyControl: [payload: { replyId: string; action: 'cancel' | 'resync'; actorId?: string | null; requestId?: string | null }];
  /** Sessions that ended (logout, password change, deactivation, erasure): their live subscriptions end. */
  sessions: [payload: SessionsEnded];
  /** Live ingestion progress of a document (pages extracted, chunks embedded); stages themselves are events. */
  documentProgress: [documentId: string, payload: Record<string, unknown>];
};

/**
 * `sessionId` set: that session ended. Otherwise every session of `userId` that started before
 * `beforePosition` (all of them when null) ended.
 */
export interface SessionsEnded {
  userId: string;
  sessionId: string | null;
  beforePosition: string | null;
}

export interface SubscribeOptions {
  /** Ends the feed (it returns, no error) when aborted. */
  signal?: AbortSignal;
}

type Payload<K extends keyof Topics> = Topics[K] extends [string, infer P] ? P : Topics[K] extends [infer P] ? P : never;
type SubscribeArgs<K extends keyof Topics> = Topics[K] extends [string, unknown] ? [K, string, SubscribeOptions?] : [K, SubscribeOptions?];

export const MAX_PENDING_EVENTS = 1024;

/** A subscriber fell more than MAX_PENDING_EVENTS behind; its subscription is ended. */
export class PubSubOverflowError extends Error {
  readonly code = 'RATE_LIMITED';
  constructor(max: number) {
    super(`Subscription ended: more than ${max} events were waiting for this client`);
    this.name = 'PubSubOverflowError';
  }
}

interface EventTargetLike {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

/**
 * Publish and subscribe over an event target: in memory, or Redis through
 * @graphql-yoga/redis-event-target. Every subscriber has its own queue of at most `maxPending`
 * items, filled by the listener and drained by the consumer; a publisher never blocks or throws
 * because of a slow subscriber, and a subscriber that falls too far behind ends with an error.
 */
export class AppPubSub {
  private readonly target: EventTargetLike;
  private readonly maxPending: number;

  constructor(target: EventTargetLike, maxPending = MAX_PENDING_EVENTS) {
    this.target = target;
    this.maxPending = maxPending;
  }

  publish<K extends keyof Topics>(key: K, ...args: Topics[K]): void {
    const [topic, payload] = args.length === 2 ? [`${key}:${String(args[0])}`, args[1]] : [key, args[0]];
    this.target.dispatchEvent(new CustomEvent(topic, { detail: payload }));
  }

  subscribe<K extends keyof Topics>(...args: SubscribeArgs<K>): AsyncGenerator<Payload<K>> {
    const [key, second, third] = args as [K, string | SubscribeOptions | undefined, SubscribeOptions | undefined];
    const id = typeof second === 'string' ? second : undefined;
    const signal = (typeof second === 'string' ? third : second)?.signal;
    const topic = id === undefined ? key : `${key}:${id}`;
    const queue: Array<Payload<K>> = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const listener = (event: Event) => {
      if (overflowed) return;
      if (queue.length >= this.maxPending) overflowed = true;
      else queue.push((event as CustomEvent<Payload<K>>).detail);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.target.addEventListener(topic, listener);
    signal?.addEventListener('abort', onAbort, { once: true });
    const target = this.target;
    const max = this.maxPending;
    return (async function* feed() {
      try {
        for (;;) {
          while (queue.length > 0 && !signal?.aborted) yield queue.shift()!;
          if (signal?.aborted) return;
          if (overflowed) throw new PubSubOverflowError(max);
          await new Promise<void>((resolve) => { wake = resolve; });
          wake = undefined;
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        target.removeEventListener(topic, listener);
      }
    })();
  }
}

export interface PubSubHandle {
  pubsub: AppPubSub;
  close(): Promise<void>;
}

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

/**
 * In-memory by default; with REDIS_URL every instance shares one channel, so a subscriber on
 * instance B sees what instance A publishes.
 */
export function createAppPubSub(redisUrl: string | undefined, onError: (error: unknown) => void = () => {}): PubSubHandle {
  if (!redisUrl) {
    // Any number of subscribers may follow one topic (a conversation open in many tabs, the audit
    // feed): Node's leak warning after ten listeners would be noise, and each one is removed when its
    // subscription ends.
    const target = new EventTarget();
    setMaxListeners(0, target);
    return { pubsub: new AppPubSub(target), close: async () => {} };
  }
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
    pubsub: new AppPubSub(eventTarget as unknown as EventTargetLike),
    async close() {
      // quit() lets commands already queued (a last publish during shutdown) finish first.
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
