import { describe, expect, it } from 'vitest';
import { mergeStreams } from '../../src/graphql/merge-streams.ts';

async function* items<T>(values: T[], gate?: Promise<void>): AsyncGenerator<T> {
  for (const value of values) {
    if (gate) await gate;
    yield value;
  }
}

describe('mergeStreams (unit)', () => {
  it('yields every item of every source, each source in its order, and ends when all end', async () => {
    const seen: number[] = [];
    for await (const value of mergeStreams([items([1, 2, 3]), items([10, 20])], new AbortController().signal)) seen.push(value);
    expect(seen.filter((v) => v < 10)).toEqual([1, 2, 3]);
    expect(seen.filter((v) => v >= 10)).toEqual([10, 20]);
  });

  it('ends when the signal aborts, even while a source is silent', async () => {
    const controller = new AbortController();
    const silent = items([1], new Promise<void>(() => {}));
    const merged = mergeStreams([silent, items([7])], controller.signal);
    expect((await merged.next()).value).toBe(7);
    const pending = merged.next();
    controller.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('a source failing after the consumer left is not an unhandled rejection; one failing while read reaches the consumer', async () => {
    const failures: Array<(error: Error) => void> = [];
    let served = 0;
    const flaky: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => (served++ === 0
          ? Promise.resolve({ value: 1, done: false })
          : new Promise<IteratorResult<number>>((_resolve, reject) => { failures.push(reject); })),
      }),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const merged = mergeStreams([flaky], new AbortController().signal);
      expect((await merged.next()).value).toBe(1);
      await merged.return(undefined); // the consumer leaves while the next item is being read
      failures.shift()!(new Error('store closed'));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);

      const again = mergeStreams([flaky], new AbortController().signal);
      const read = again.next();
      await new Promise((resolve) => setImmediate(resolve));
      failures.shift()!(new Error('boom'));
      await expect(read).rejects.toThrow('boom');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

});
