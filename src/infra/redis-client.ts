import { createRequire } from 'node:module';
import type * as IoRedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';

const load = createRequire(import.meta.url);

/** A Redis client. ioredis takes about 0.15 s of CPU to load, so it loads with the first client, not at every start. */
export function newRedisClient(url: string, options: RedisOptions): Redis {
  const { Redis: Client } = load('ioredis') as typeof IoRedis;
  return new Client(url, options);
}
