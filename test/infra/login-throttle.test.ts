import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LoginThrottleSettings } from '../../src/infra/config.ts';
import { createLoginThrottle, type LoginThrottle } from '../../src/infra/login-throttle.ts';

const SETTINGS: LoginThrottleSettings = {
  perAccountAndAddress: 3, perAddress: 5, perAccount: 4, windowSeconds: 60, addressWindowSeconds: 120, accountDelaySeconds: 5,
};
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

// The memory limiter reads Date.now and expires with setTimeout: the fake clock drives both, so the
// windows' edges are exact.
describe('login throttle (memory, injected clock)', () => {
  let throttle: LoginThrottle;
  const at = (ms: number) => vi.setSystemTime(START + ms);
  const advanceTo = (ms: number) => vi.advanceTimersByTime(START + ms - Date.now());
  const attempts = async (n: number, account: string, address: string) => {
    const decisions = [];
    for (let i = 0; i < n; i++) decisions.push(await throttle.attempt(account, address));
    return decisions;
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    at(0);
    throttle = createLoginThrottle({ settings: SETTINGS });
  });
  afterEach(async () => {
    await throttle.close();
    vi.useRealTimers();
  });

  it('accepts the per-(account, address) limit, refuses one more until the window ends, to the millisecond', async () => {
    throttle = createLoginThrottle({ settings: { ...SETTINGS, perAddress: 100, perAccount: 100 } });
    expect(await attempts(3, 'acct', 'ip1')).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    advanceTo(59_001);
    expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    advanceTo(59_999);
    expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    advanceTo(60_000);
    expect(await attempts(3, 'acct', 'ip1')).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect((await throttle.attempt('acct', 'ip1')).allowed).toBe(false);
  });

  it('the window starts at the first attempt, not the last', async () => {
    await throttle.attempt('acct', 'ip1');
    advanceTo(50_000);
    await attempts(2, 'acct', 'ip1');
    expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: false, retryAfterSeconds: 10 });
    advanceTo(60_000);
    expect((await throttle.attempt('acct', 'ip1')).allowed).toBe(true);
  });

  it('does not lock the owner out: the same account from another address is allowed', async () => {
    await attempts(4, 'acct', 'attacker');
    expect((await throttle.attempt('acct', 'attacker')).allowed).toBe(false);
    expect(await throttle.attempt('acct', 'owner')).toEqual({ allowed: true });
  });

  it('limits one address over all accounts: the limit accepted, one more refused, until its own window ends', async () => {
    for (let i = 0; i < 5; i++) expect(await throttle.attempt(`acct-${i}`, 'ip1'), `account ${i}`).toEqual({ allowed: true });
    expect(await throttle.attempt('acct-5', 'ip1')).toEqual({ allowed: false, retryAfterSeconds: 120 });
    advanceTo(119_999);
    expect((await throttle.attempt('acct-6', 'ip1')).allowed).toBe(false);
    advanceTo(120_000);
    expect((await throttle.attempt('acct-6', 'ip1')).allowed).toBe(true);
    expect((await throttle.attempt('acct-0', 'ip2')).allowed).toBe(true);
  });

  it('past the per-account limit from many addresses, only spaces attempts out: one per delay, exactly', async () => {
    for (let i = 0; i < 4; i++) expect(await throttle.attempt('acct', `ip${i}`)).toEqual({ allowed: true });
    expect(await throttle.attempt('acct', 'ip4')).toEqual({ allowed: true }); // the first one past the limit
    expect(await throttle.attempt('acct', 'ip5')).toEqual({ allowed: false, retryAfterSeconds: 5 });
    advanceTo(4_999);
    expect(await throttle.attempt('acct', 'owner')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    advanceTo(5_000);
    expect(await throttle.attempt('acct', 'owner')).toEqual({ allowed: true });
    expect((await throttle.attempt('acct', 'ip6')).allowed).toBe(false);
    advanceTo(10_000);
    expect((await throttle.attempt('acct', 'ip6')).allowed).toBe(true);
    // Once the account's window is over, attempts are not spaced any more.
    advanceTo(60_000);
    expect(await attempts(4, 'acct', 'ip7').then((d) => d.slice(0, 3))).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
  });

  it('a successful login gives its points back and clears its (account, address) count', async () => {
    await attempts(2, 'acct', 'ip1');
    await throttle.attempt('acct', 'ip1');
    await throttle.succeeded('acct', 'ip1');
    expect(await attempts(3, 'acct', 'ip1')).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    expect((await throttle.attempt('acct', 'ip1')).allowed).toBe(false);
  });

  it('a refused attempt leaves no trace in the other counters', async () => {
    await attempts(3, 'acct', 'ip1');
    for (let i = 0; i < 20; i++) expect((await throttle.attempt('acct', 'ip1')).allowed).toBe(false);
    // ip1 has used 3 of its 5 attempts, not 23; the account 3 of its 4.
    expect((await throttle.attempt('other-1', 'ip1')).allowed).toBe(true);
    expect((await throttle.attempt('other-2', 'ip1')).allowed).toBe(true);
    expect((await throttle.attempt('other-3', 'ip1')).allowed).toBe(false);
    expect(await throttle.attempt('acct', 'ip2')).toEqual({ allowed: true });
    expect(await throttle.attempt('acct', 'ip3')).toEqual({ allowed: true }); // 5th for the account: past the limit, first of its pace
    expect((await throttle.attempt('acct', 'ip4')).allowed).toBe(false);
  });
});

const REDIS_URL = process.env.REDIS_URL || undefined;

describe.skipIf(!REDIS_URL)('login throttle on Redis', () => {
  it('shares its counts between instances', async () => {
    const a = createLoginThrottle({ settings: SETTINGS, redisUrl: REDIS_URL });
    const b = createLoginThrottle({ settings: SETTINGS, redisUrl: REDIS_URL });
    const account = `acct-${randomUUID()}`;
    const address = `ip-${randomUUID()}`;
    try {
      await Promise.all([a.ready(), b.ready()]);
      expect(await a.attempt(account, address)).toEqual({ allowed: true });
      expect(await b.attempt(account, address)).toEqual({ allowed: true });
      expect(await a.attempt(account, address)).toEqual({ allowed: true });
      const refused = await b.attempt(account, address);
      expect(refused.allowed).toBe(false);
      expect(refused.allowed === false && refused.retryAfterSeconds).toBeGreaterThan(50);
      await a.succeeded(account, address);
      expect(await b.attempt(account, address)).toEqual({ allowed: true });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('login throttle when Redis is unreachable', () => {
  it('falls back to memory limits (still refusing past them), reports the failure once, never throws', async () => {
    const errors: Error[] = [];
    // Nothing listens on port 1 of this machine.
    const throttle = createLoginThrottle({ settings: SETTINGS, redisUrl: 'redis://127.0.0.1:1', onRedisError: (error) => errors.push(error) });
    try {
      expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: true });
      expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: true });
      expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: true });
      expect((await throttle.attempt('acct', 'ip1')).allowed).toBe(false);
      await throttle.succeeded('acct', 'ip1');
      expect(await throttle.attempt('acct', 'ip1')).toEqual({ allowed: true });
      await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 15_000 });
      expect(errors).toHaveLength(1);
    } finally {
      await throttle.close();
    }
  });
});
