/**
 * Waiters released together by fire(); each also ends after its own timeout, if it has one, or when
 * its signal aborts. Used wherever a loop polls but should react at once to a local notification,
 * and where many readers wait for the next arrival (those pass no timeout and no signal: a thousand
 * idle feeds then cost no timer and no listener per wait, only their release).
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  fire(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const release of waiters) release();
  }

  /**
   * Registers now (so a fire() before the await is not lost); resolves on fire(), cancel(), the
   * signal's abort, or after `ms` (never, when it is undefined).
   */
  wait(ms?: number, signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      done = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
    });
    const timer = ms === undefined ? undefined : setTimeout(done, Math.max(0, ms));
    this.waiters.add(done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done, { once: true });
    return { promise, cancel: done };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.wait(ms, signal).promise;
  }
}
