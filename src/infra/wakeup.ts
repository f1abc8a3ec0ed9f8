/**
 * Waiters released together by fire(); each also ends after its own timeout, or when its signal
 * aborts. Used wherever a loop polls but should react at once to a local notification.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  fire(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const release of waiters) release();
  }

  /** Registers now (so a fire() before the await is not lost); resolves on fire(), timeout, abort or cancel(). */
  wait(ms: number, signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
    });
    const timer = setTimeout(done, Math.max(0, ms));
    this.waiters.add(done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
    return { promise, cancel: done };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.wait(ms, signal).promise;
  }
}
