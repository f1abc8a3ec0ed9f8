import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: postgresUrl.optional(),
  EVENT_STORE: z.enum(['sqlite', 'postgres']).optional(),
  READ_DB: z.enum(['pglite', 'postgres']).optional(),
  MASTER_KEY: z.string().refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)').optional(),
  PROJECTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  REDIS_URL: z.string().refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL').optional(),
  SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(24 * 7),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434/v1' }).optional(),
  OPENAI_API_KEY: z.string().optional(),
  DEFAULT_MODEL: z.string().min(1).max(200).optional(),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  PROVIDER_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  logLevel: (typeof LOG_LEVELS)[number];
  dataDir: string;
  databaseUrl: string | undefined;
  eventStore: 'sqlite' | 'postgres';
  readDb: 'pglite' | 'postgres';
  masterKey: string | undefined;
  projectionBatchSize: number;
  host: string;
  port: number;
  redisUrl: string | undefined;
  sessionTtlMs: number;
  openai: { baseUrl: string; apiKey: string | undefined } | undefined;
  defaultModel: string | undefined;
  providerTimeoutMs: number;
  /** Longest wait for a provider's response headers (for a model listing, the whole answer). */
  providerConnectTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads the configuration from the environment; a bad value throws a ConfigError with one clear line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${name in present ? ` (got "${present[name]}")` : ''}`);
  }
  const c = parsed.data;
  const eventStore = c.EVENT_STORE ?? (c.DATABASE_URL ? 'postgres' : 'sqlite');
  const readDb = c.READ_DB ?? (c.DATABASE_URL ? 'postgres' : 'pglite');
  if ((eventStore === 'postgres' || readDb === 'postgres') && !c.DATABASE_URL) {
    throw new ConfigError(`Invalid configuration: EVENT_STORE=${eventStore} and READ_DB=${readDb} need DATABASE_URL`);
  }
  if (eventStore === 'postgres' && !c.MASTER_KEY) {
    // A key generated into one instance's data directory would leave the others unable to read personal data.
    throw new ConfigError('Invalid configuration: EVENT_STORE=postgres needs MASTER_KEY, shared by every instance (openssl rand -base64 32)');
  }
  return {
    env: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    dataDir: resolve(c.DATA_DIR),
    databaseUrl: c.DATABASE_URL,
    eventStore,
    readDb,
    masterKey: c.MASTER_KEY,
    projectionBatchSize: c.PROJECTION_BATCH_SIZE,
    host: c.HOST,
    port: c.PORT,
    redisUrl: c.REDIS_URL,
    sessionTtlMs: c.SESSION_TTL_HOURS * 3_600_000,
    openai: c.OPENAI_BASE_URL ? { baseUrl: c.OPENAI_BASE_URL.replace(/\/+$/, ''), apiKey: c.OPENAI_API_KEY } : undefined,
    defaultModel: c.DEFAULT_MODEL,
    providerTimeoutMs: c.PROVIDER_TIMEOUT_MS,
    providerConnectTimeoutMs: c.PROVIDER_CONNECT_TIMEOUT_MS,
  };
}

/** Loads `.env` from the working directory into process.env when present; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
