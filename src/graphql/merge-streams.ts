/**
 * Items of several async iterables as they come, until all of them end or the signal aborts. Each
 * source is read one item ahead at most, so a fast source cannot flood memory while a consumer is slow.
 */
export async function* mergeStreams<T>(sources: ReadonlyArray<AsyncIterable<T>>, signal: AbortSignal): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const next = (index: number) => iterators[index]!.next().then((result) => ({ index, result }));
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>(iterators.map((_, index) => [index, next(index)]));
  const aborted = new Promise<null>((resolve) => {
    if (signal.aborted) resolve(null);
    signal.addEventListener('abort', () => resolve(null), { once: true });
  });
  try {
    while (pending.size > 0) {
      const winner = await Promise.race([...pending.values(), aborted]);
      if (winner === null) return;
      if (winner.result.done) {
        pending.delete(winner.index);
        continue;
      }
      pending.set(winner.index, next(winner.index));
      yield winner.result.value;
    }
  } finally {
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
