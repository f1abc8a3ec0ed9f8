/**
 * Items of several async iterables as they come, until all of them end or the signal aborts. Each
 * source is read one item ahead at most, so a fast source cannot flood memory while a consumer is slow.
 */
export async function* mergeStreams<T>(sources: ReadonlyArray<AsyncIterable<T>>, signal: AbortSignal): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const next = (index: number) => {
    const step = iterators[index]!.next().then((result) => ({ index, result }));
    // A source that fails after the consumer has gone (its store closed under it) must not be an unhandled rejection.
    step.catch(() => {});
    return step;
  };
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
    // Not awaited: an async generator paused inside an await only returns once that await settles,
    // which for a silent source may be never. The caller closes what it opened.
    for (const iterator of iterators) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
