import { describe, expect, it } from 'vitest';
import type { Lease } from '../../../src/infra/read-db/port.ts';
import { Backoff } from '../../../src/projections/processor/backoff.ts';
import { LeaseLoop } from '../../../src/projections/processor/lease-loop.ts';
import { testLogger } from '../runner.contract.ts';

/** A lease source the test controls: grants while `granting`, and can lose the current lease. */
function leases() {
  const state = { granting: true, asked: 0, granted: 0, released: 0, current: null as null | { lost: AbortController } };
  return {
    state,
    db: {
      async tryLease(): Promise<Lease | null> {
        state.asked++;
        if (!state.granting) return null;
        state.granted++;
        const lost = new AbortController();
        state.current = { lost };
        return { lost: lost.signal, release: async () => { state.released++; } };
      },
    },
    lose() { state.current?.lost.abort(new Error('connection died')); },
  };
}

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe('LeaseLoop', () => {
  it('runs the work under the lease; a lost lease aborts its signal at once, and it stands by until it gets the lease again', async () => {
    const source = leases();
    const runs: AbortSignal[] = [];
    const loop = new LeaseLoop({
      db: source.db, leaseName: 'x', logger: testLogger().logger, leaseRetryMs: 10, errorBackoffMs: 10,
      whileLeased: (signal) => {
        runs.push(signal);
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    });
    loop.start();
    await until(() => runs.length === 1, 'the first run');
    expect(loop.holding).toBe(true);
    source.state.granting = false;
    source.lose();
    expect(runs[0]!.aborted).toBe(true);
    expect(loop.holding).toBe(false);
    await until(() => source.state.released === 1 && source.state.asked >= 3, 'standing by');
    expect(runs).toHaveLength(1);
    expect(loop.heldElsewhere).toBe(true);
    source.state.granting = true;
    await until(() => runs.length === 2, 'a run under the new lease');
    expect(source.state.granted).toBe(2);
    await loop.stop();
    expect(runs[1]!.aborted).toBe(true);
    expect(source.state.released).toBe(2);
  });

  it('retries work that throws with the lease it holds, backing off; a stand-by error gives the lease up', async () => {
    const source = leases();
    let calls = 0;
    const standBy = new Error('someone else ran it');
    const loop = new LeaseLoop({
      db: source.db, leaseName: 'x', logger: testLogger().logger, leaseRetryMs: 10, errorBackoffMs: 5,
      whileLeased: async (signal) => {
        calls++;
        if (calls <= 2) throw new Error('database unavailable');
        if (calls === 3) throw standBy;
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      },
      isStandByError: (error) => error === standBy,
    });
    loop.start();
    await until(() => calls === 4, 'the fourth run');
    // Two ordinary errors kept the lease; the stand-by error released it and a new one was taken.
    expect(source.state.granted).toBe(2);
    expect(source.state.released).toBe(1);
    await loop.stop();
    expect(source.state.released).toBe(2);
  });

  it('stop() releases the lease even when the work ignores its signal', async () => {
    const source = leases();
    const loop = new LeaseLoop({
      db: source.db, leaseName: 'x', logger: testLogger().logger, leaseRetryMs: 10, errorBackoffMs: 10,
      whileLeased: () => new Promise(() => {}),
    });
    loop.start();
    await until(() => source.state.granted === 1, 'the lease');
    expect(await loop.stop(50)).toBe(false);
    expect(source.state.released).toBe(1);
  });
});

describe('Backoff', () => {
  it('doubles from the first wait up to the cap, and starts over after reset', () => {
    const backoff = new Backoff(100, 1000);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});
