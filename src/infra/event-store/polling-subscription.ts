import type { ReadAllOptions, RecordedEvent, SubscribeOptions, Subscription } from './port.ts';

export interface WakeSource {
  /** Resolves on the next append signal or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void>;
}

/**
 * Catch-up then live, built on readAll: it always reads by position from the last one it delivered,
 * so the seam between catch-up and live can neither skip nor repeat an event. Wake-ups only shorten
 * the wait; correctness never depends on them.
 */
export function pollingSubscription(
  readAll: (options: ReadAllOptions) => Promise<RecordedEvent[]>,
  wake: WakeSource,
  options: SubscribeOptions,
  idlePollMs: number,
): Subscription {
  const controller = new AbortController();
  const batchSize = options.batchSize ?? 500;
  let position = options.after ?? 0n;

  async function* run(): AsyncGenerator<RecordedEvent> {
    while (!controller.signal.aborted) {
      const batch = await readAll({ after: position, maxCount: batchSize, filter: options.filter });
      for (const event of batch) {
        if (controller.signal.aborted) return;
        position = event.position;
        yield event;
      }
      if (batch.length < batchSize) await wake.wait(idlePollMs, controller.signal);
    }
  }

  const iterator = run();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      controller.abort();
      await iterator.return(undefined);
    },
  };
}

/** An in-process wake source: `notify()` releases every waiter. */
export class LocalWake implements WakeSource {
  private waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const release of waiters) release();
  }

  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }
}
