import { afterEach, describe, expect, it, vi } from 'vitest';
import { Wakeup } from '../../src/infra/wakeup.ts';

/** Whether `promise` has settled once the microtasks and one turn of the event loop have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => { done = true; });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('Wakeup (unit)', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('fire() releases every waiter registered before it, and none registered after', async () => {
    const wakeup = new Wakeup();
    const first = wakeup.wait(60_000);
    const second = wakeup.wait();
    wakeup.fire(); // before anyone awaits: not lost
    expect(await settled(first.promise)).toBe(true);
    expect(await settled(second.promise)).toBe(true);
    const later = wakeup.wait();
    expect(await settled(later.promise)).toBe(false);
    wakeup.fire();
    expect(await settled(later.promise)).toBe(true);
  });

  it('without a timeout it sets no timer and waits for fire(), cancel() or the abort', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const wakeup = new Wakeup();
    const controller = new AbortController();
    const plain = wakeup.wait();
    const cancelled = wakeup.wait();
    const aborted = wakeup.wait(undefined, controller.signal);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(24 * 3600_000);
    expect(await settled(plain.promise)).toBe(false);
    cancelled.cancel();
    expect(await settled(cancelled.promise)).toBe(true);
    controller.abort();
    expect(await settled(aborted.promise)).toBe(true);
    expect(await settled(plain.promise)).toBe(false);
    wakeup.fire();
    expect(await settled(plain.promise)).toBe(true);
  });

  it('with a timeout it ends by itself, and clears its timer when released earlier', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const wakeup = new Wakeup();
    const timed = wakeup.wait(1_000);
    const released = wakeup.wait(1_000);
    expect(vi.getTimerCount()).toBe(2);
    released.cancel();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(await settled(timed.promise)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a signal already aborted ends the wait at once', async () => {
    const wakeup = new Wakeup();
    expect(await settled(wakeup.wait(60_000, AbortSignal.abort()).promise)).toBe(true);
  });
});
