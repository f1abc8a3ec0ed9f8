import { Wakeup } from '../infra/wakeup.ts';

type Step<T> = { index: number; failed: false; result: IteratorResult<T> } | { index: number; failed: true; error: unknown };

/**
 * Items of several async iterables as they come, until all of them end or the signal aborts. Each
 * source is read one item ahead at most, so a fast source cannot flood memory while a consumer is slow.
 *
 * Each read of a source is awaited exactly once (no Promise.race over reads that stay pending): a
 * race adds a reaction to every pending promise it is given, so a silent source, or the abort, would
 * collect one per item of the others for as long as the feed is open.
 */
export async function* mergeStreams<T>(sources: ReadonlyArray<AsyncIterable<T>>, signal: AbortSignal): AsyncGenerator<T> {
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  const ready: Array<Step<T>> = [];
  const arrived = new Wakeup();
  const notify = () => arrived.fire();
  const read = (index: number) => {
    // A source that fails after the consumer has gone (its store closed under it) is not an unhandled rejection.
    iterators[index]!.next().then(
      (result) => { ready.push({ index, failed: false, result }); notify(); },
      (error: unknown) => { ready.push({ index, failed: true, error }); notify(); },
    );
  };
  let open = iterators.length;
  signal.addEventListener('abort', notify, { once: true });
  try {
    iterators.forEach((_, index) => read(index));
    while (open > 0 && !signal.aborted) {
      const step = ready.shift();
      if (!step) {
        await arrived.wait().promise;
        continue;
      }
      if (step.failed) throw step.error;
      if (step.result.done) {
        open--;
        continue;
      }
      read(step.index);
      yield step.result.value;
    }
  } finally {
    signal.removeEventListener('abort', notify);
    // Not awaited: an async generator paused inside an await only returns once that await settles,
    // which for a silent source may be never. The caller closes what it opened.
    for (const iterator of iterators) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
