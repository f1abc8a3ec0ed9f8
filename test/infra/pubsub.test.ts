import { afterAll, describe, expect, it } from 'vitest';
import { AppPubSub, createAppPubSub, PubSubOverflowError, type PubSubHandle } from '../../src/infra/pubsub.ts';
import { skipReason } from '../support/requirements.ts';

const REDIS_URL = process.env.REDIS_URL;
const skipRedis = skipReason('Redis pub/sub', REDIS_URL ? undefined : 'REDIS_URL is not set');

async function take<T>(feed: AsyncGenerator<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  for await (const item of feed) {
    items.push(item);
    if (items.length === count) break;
  }
  return items;
}

describe('AppPubSub (in memory)', () => {
  it('delivers a topic\'s payloads in order, only to that topic\'s subscribers', async () => {
    const pubsub = new AppPubSub(new EventTarget());
    const a = pubsub.subscribe('conversation', 'a');
    const b = pubsub.subscribe('conversation', 'b');
    const control = pubsub.subscribe('replyControl');
    const gotA = take(a, 3);
    const gotB = take(b, 1);
    const gotControl = take(control, 1);
    for (let i = 0; i < 3; i++) pubsub.publish('conversation', 'a', { i });
    pubsub.publish('conversation', 'b', { i: 'b' });
    pubsub.publish('replyControl', { replyId: 'r', action: 'cancel' });
    expect(await gotA).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await gotB).toEqual([{ i: 'b' }]);
    expect(await gotControl).toEqual([{ replyId: 'r', action: 'cancel' }]);
  });

  it('a slow subscriber never makes the publisher throw; it ends with an overflow error', async () => {
    const pubsub = new AppPubSub(new EventTarget(), 10);
    const feed = pubsub.subscribe('conversation', 'x');
    expect(() => { for (let i = 0; i < 5000; i++) pubsub.publish('conversation', 'x', { i }); }).not.toThrow();
    const received: unknown[] = [];
    const error = await (async () => {
      try {
        for await (const item of feed) received.push(item);
      } catch (e) {
        return e;
      }
    })();
    expect(received).toHaveLength(10);
    expect(error).toBeInstanceOf(PubSubOverflowError);
    expect((error as Error).message).toMatch(/more than 10 events/);
  });

  it('stops listening when the subscriber returns', async () => {
    const target = new EventTarget();
    const pubsub = new AppPubSub(target);
    const feed = pubsub.subscribe('conversation', 'y');
    const first = feed.next();
    pubsub.publish('conversation', 'y', { n: 1 });
    expect((await first).value).toEqual({ n: 1 });
    await feed.return(undefined);
    let delivered = 0;
    target.addEventListener('conversation:y', () => delivered++);
    pubsub.publish('conversation', 'y', { n: 2 });
    expect(delivered).toBe(1); // only the probe listener: the subscription's is gone
  });
});

describe('createAppPubSub without Redis', () => {
  it('lets a thousand subscribers follow one topic without a leak warning, and delivers to each', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const { pubsub, close } = createAppPubSub(undefined);
    try {
      const feeds = Array.from({ length: 1000 }, () => pubsub.subscribe('conversation', 'busy'));
      const firsts = feeds.map((feed) => feed.next());
      pubsub.publish('conversation', 'busy', { n: 1 });
      expect((await Promise.all(firsts)).every((r) => (r.value as { n: number }).n === 1)).toBe(true);
      await Promise.all(feeds.map((feed) => feed.return(undefined)));
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await close();
    }
  });
});

describe.skipIf(skipRedis !== undefined)('AppPubSub over Redis', () => {
  const handles: PubSubHandle[] = [];
  afterAll(async () => { for (const handle of handles) await handle.close(); });

  it('a subscriber on one instance receives what another publishes, including a publish right before close', async () => {
    const a = createAppPubSub(REDIS_URL);
    const b = createAppPubSub(REDIS_URL);
    handles.push(b);
    const topic = `t-${Date.now()}`;
    const feed = b.pubsub.subscribe('conversation', topic);
    // The subscription reaches Redis asynchronously: publish probes until the first one arrives.
    const first = feed.next();
    let delivered: IteratorResult<Record<string, unknown>> | undefined;
    void first.then((r) => { delivered = r; });
    const deadline = Date.now() + 30_000; // generous: only a broken subscription takes this long
    while (!delivered && Date.now() < deadline) {
      a.pubsub.publish('conversation', topic, { kind: 'PROBE' });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(delivered?.value).toEqual({ kind: 'PROBE' });
    a.pubsub.publish('conversation', topic, { kind: 'ONE' });
    a.pubsub.publish('conversation', topic, { kind: 'LAST' });
    await a.close();
    const items: unknown[] = [];
    for await (const item of feed) {
      items.push(item.kind);
      if (item.kind === 'LAST') break;
    }
    expect(items.filter((kind) => kind !== 'PROBE')).toEqual(['ONE', 'LAST']);
  });
});
