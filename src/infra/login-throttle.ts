import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LoginThrottleSettings } from './config.ts';

/**
 * Slows password guessing without letting a guesser lock the owner out:
 * - per (account, client address): a few attempts per window; the owner elsewhere is not affected;
 * - per client address over all accounts: stops one address from trying many accounts;
 * - per account from anywhere: past a looser limit, attempts are only spaced out (one per
 *   `accountDelaySeconds`), never refused for the whole window.
 * Every attempt that is evaluated counts; a successful login gives its points back and clears its
 * (account, address) counter; a refused attempt leaves no trace. Windows are fixed: they start at
 * the first counted attempt.
 */
export interface LoginThrottle {
  /** Counts an attempt, or refuses it with the seconds to wait. */
  attempt(account: string, address: string): Promise<ThrottleDecision>;
  /** The attempt was a successful login. */
  succeeded(account: string, address: string): Promise<void>;
  /** Resolves once the shared store is connected (at once without Redis); until then the memory fallback counts. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

type Limit = { name: string; points: number; duration: number };

function limitsOf(settings: LoginThrottleSettings): Record<'pair' | 'address' | 'account' | 'pace', Limit> {
  return {
    pair: { name: 'pair', points: settings.perAccountAndAddress, duration: settings.windowSeconds },
    address: { name: 'address', points: settings.perAddress, duration: settings.addressWindowSeconds },
    account: { name: 'account', points: settings.perAccount, duration: settings.windowSeconds },
    pace: { name: 'pace', points: 1, duration: settings.accountDelaySeconds },
  };
}

const secondsOf = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export interface LoginThrottleOptions {
  settings: LoginThrottleSettings;
  /**
   * Shares the counters between instances. When Redis cannot answer, each instance falls back to
   * its own memory counters with the same limits (fail closed per instance, never open, never a crash).
   */
  redisUrl?: string;
  /** Told when Redis fails (the limiter then uses its memory fallback). */
  onRedisError?: (error: Error) => void;
}

export function createLoginThrottle({ settings, redisUrl, onRedisError }: LoginThrottleOptions): LoginThrottle {
  const limits = limitsOf(settings);
  let redis: Redis | undefined;
  let make: (limit: Limit) => RateLimiterAbstract;
  if (redisUrl) {
    const client = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: false });
    let failing = false;
    client.on('error', (error: Error) => {
      if (!failing) onRedisError?.(error); // once per outage, not once per reconnect attempt
      failing = true;
    });
    client.on('ready', () => { failing = false; });
    redis = client;
    make = (limit) => new RateLimiterRedis({
      storeClient: client, keyPrefix: `evident:login:${limit.name}`, points: limit.points, duration: limit.duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: `evident:login:${limit.name}`, points: limit.points, duration: limit.duration }),
    });
  } else {
    make = (limit) => new RateLimiterMemory({ keyPrefix: `evident:login:${limit.name}`, points: limit.points, duration: limit.duration });
  }
  const pair = make(limits.pair);
  const address = make(limits.address);
  const account = make(limits.account);
  const pace = make(limits.pace);
  const pairKey = (a: string, b: string) => `${a}:${b}`;

  /** The refusal, or null when the point was taken. Errors other than a refusal propagate. */
  async function take(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes | null> {
    try {
      await limiter.consume(key);
      return null;
    } catch (error) {
      if (error instanceof RateLimiterRes) return error;
      throw error;
    }
  }

  async function giveBack(taken: Array<[RateLimiterAbstract, string]>) {
    await Promise.all(taken.map(([limiter, key]) => limiter.reward(key, 1)));
  }

  return {
    async attempt(accountKey, addressKey) {
      const steps: Array<[RateLimiterAbstract, string]> = [
        [address, addressKey], [pair, pairKey(accountKey, addressKey)], [account, accountKey],
      ];
      const taken: Array<[RateLimiterAbstract, string]> = [];
      for (const [limiter, key] of steps) {
        const refused = await take(limiter, key);
        taken.push([limiter, key]);
        if (!refused) continue;
        if (limiter !== account) {
          await giveBack(taken);
          return { allowed: false, retryAfterSeconds: secondsOf(refused) };
        }
        // Over the account's limit: spaced out, not locked.
        const tooSoon = await take(pace, accountKey);
        if (tooSoon) {
          await giveBack([...taken, [pace, accountKey]]);
          return { allowed: false, retryAfterSeconds: secondsOf(tooSoon) };
        }
      }
      return { allowed: true };
    },

    async succeeded(accountKey, addressKey) {
      await Promise.all([pair.delete(pairKey(accountKey, addressKey)), address.reward(addressKey, 1), account.reward(accountKey, 1)]);
    },

    async ready() {
      if (redis && redis.status !== 'ready') await new Promise((resolve) => redis!.once('ready', resolve));
    },

    async close() {
      if (redis) redis.disconnect();
    },
  };
}
