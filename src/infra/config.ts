import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { parseSigningKey } from './audit/signing-key.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const postgresUrl = z.string().refine((value) => /^postgres(ql)?:\/\//.test(value) && URL.canParse(value), 'must be a postgres:// or postgresql:// URL');

const flag = z.enum(['true', 'false', '1', '0', 'on', 'off']).transform((value) => value === 'true' || value === '1' || value === 'on');
const count = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** Express `trust proxy` values: true/false, a hop count, or addresses, subnets and loopback/linklocal/uniquelocal. */
const trustProxy = z.string().transform((value, ctx): boolean | number | string[] => {
  if (value === 'true' || value === 'false') return value === 'true';
  if (/^\d+$/.test(value)) return Number(value);
  const list = value.split(',').map((part) => part.trim()).filter(Boolean);
  try {
    proxyAddr.compile(list);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be true, false, a hop count, or a comma-separated list of addresses, subnets, loopback, linklocal, uniquelocal' });
    return z.NEVER;
  }
  return list;
});

const corsOrigins = z.string().transform((value, ctx): string[] => {
  const list = value.split(',').map((part) => part.trim().replace(/\/+$/, '')).filter(Boolean);
  for (const origin of list) {
    if (origin !== '*' && !/^https?:\/\/[^/?#\s]+$/.test(origin)) {
      ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of origins such as https://app.example.com (or *): "${origin}" is not one` });
      return z.NEVER;
    }
  }
  return list;
});

/** Values a configuration error must never echo: passwords in URLs, keys. */
const SECRET_VARIABLES = new Set(['DATABASE_URL', 'KURRENTDB_URL', 'REDIS_URL', 'MASTER_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'GEMINI_API_KEY', 'GEMINI_BASE_URL', 'OLLAMA_API_KEY', 'OLLAMA_BASE_URL', 'EMBEDDINGS_API_KEY', 'EMBEDDINGS_BASE_URL', 'EMBEDDINGS_PREVIOUS_API_KEY', 'EMBEDDINGS_PREVIOUS_BASE_URL', 'WEAVIATE_API_KEY', 'WEAVIATE_URL', 'CHAIN_SIGNING_KEY', 'METRICS_TOKEN']);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: postgresUrl.optional(),
  EVENT_STORE: z.enum(['sqlite', 'postgres', 'kurrentdb']).optional(),
  KURRENTDB_URL: z.string().refine((value) => /^(kurrentdb|kdb|esdb|eventstore)(\+discover)?:\/\/[^\s/?#]+(\/?\?\S*)?$/.test(value), 'must be a kurrentdb:// (or kurrentdb+discover://) connection string').optional(),
  READ_DB: z.enum(['pglite', 'postgres']).optional(),
  MASTER_KEY: z.string().refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (openssl rand -base64 32)').optional(),
  CHAIN_SIGNING_KEY: z.string().refine((value) => {
    try {
      parseSigningKey(value, 'CHAIN_SIGNING_KEY');
      return true;
    } catch {
      return false;
    }
  }, 'must be an Ed25519 private key as PKCS#8 PEM (openssl genpkey -algorithm ed25519)').optional(),
  PROJECTION_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  READ_YOUR_WRITES_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  READY_MAX_LAG: z.coerce.number().int().min(0).max(1_000_000_000).default(10_000),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  REDIS_URL: z.string().refine((value) => /^rediss?:\/\//.test(value) && URL.canParse(value), 'must be a redis:// or rediss:// URL').optional(),
  SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(24 * 7),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434/v1' }).optional(),
  OPENAI_API_KEY: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.anthropic.com' }).optional(),
  ANTHROPIC_MAX_TOKENS: count(1, 1_000_000, 4096),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://generativelanguage.googleapis.com' }).optional(),
  OLLAMA_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434 (no /v1)' }).optional(),
  OLLAMA_API_KEY: z.string().optional(),
  DEFAULT_MODEL: z.string().min(1).max(200).optional(),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  GRAPHQL_INTROSPECTION: flag.optional(),
  GRAPHQL_SUGGESTIONS: flag.optional(),
  GRAPHQL_MAX_DEPTH: count(1, 1_000, 10),
  GRAPHQL_MAX_ALIASES: count(0, 10_000, 15),
  GRAPHQL_MAX_TOKENS: count(10, 1_000_000, 2_000),
  GRAPHQL_MAX_COST: count(1, 100_000_000, 50_000),
  GRAPHQL_MAX_DIRECTIVES: count(0, 10_000, 50),
  CORS_ORIGINS: corsOrigins.optional(),
  TRUST_PROXY: trustProxy.optional(),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  LOGIN_LIMIT_PER_ACCOUNT_ADDRESS: count(1, 1_000_000, 5),
  LOGIN_LIMIT_PER_ADDRESS: count(1, 1_000_000, 100),
  LOGIN_LIMIT_PER_ACCOUNT: count(1, 1_000_000, 20),
  LOGIN_WINDOW_SECONDS: count(1, 31 * 24 * 3600, 15 * 60),
  LOGIN_ADDRESS_WINDOW_SECONDS: count(1, 31 * 24 * 3600, 3600),
  LOGIN_ACCOUNT_DELAY_SECONDS: count(1, 3600, 5),
  PROVIDER_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  MAX_UPLOAD_BYTES: count(1, 10 * 1024 ** 3, 50 * 1024 ** 2),
  EXTRACTION_MAX_PAGES: count(1, 100_000, 500),
  EXTRACTION_TIMEOUT_MS: count(1_000, 3_600_000, 120_000),
  EXTRACTION_MAX_MEMORY_MB: count(16, 65_536, 512),
  EXTRACTION_MAX_UNCOMPRESSED_BYTES: count(1, 64 * 1024 ** 3, 256 * 1024 ** 2),
  INGESTION_CONCURRENCY: count(1, 64, 2),
  CHUNK_TOKENS: count(16, 8_192, 512),
  CHUNK_OVERLAP_TOKENS: count(0, 4_096, 64),
  EMBEDDINGS_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434/v1' }).optional(),
  EMBEDDINGS_API_KEY: z.string().optional(),
  EMBEDDINGS_MODEL: z.string().min(1).max(200).optional(),
  EMBEDDINGS_GGUF_PATH: z.string().min(1).optional(),
  // The model before an EMBEDDINGS_MODEL change: it embeds queries for its (complete) space until the new one is complete.
  EMBEDDINGS_PREVIOUS_MODEL: z.string().min(1).max(200).optional(),
  EMBEDDINGS_PREVIOUS_BASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:11434/v1' }).optional(),
  EMBEDDINGS_PREVIOUS_API_KEY: z.string().optional(),
  EMBEDDINGS_PREVIOUS_GGUF_PATH: z.string().min(1).optional(),
  WEAVIATE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8080' }).optional(),
  WEAVIATE_API_KEY: z.string().optional(),
});

export interface GraphQLLimits {
  /** Schema introspection (__schema, __type) answered. */
  introspection: boolean;
  /** "Did you mean …?" in error messages. */
  suggestions: boolean;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxDirectives: number;
}

export interface LoginThrottleSettings {
  /** Attempts for one account from one client address per `windowSeconds`. */
  perAccountAndAddress: number;
  /** Attempts from one client address, over all accounts, per `addressWindowSeconds`. */
  perAddress: number;
  /** Attempts for one account from anywhere per `windowSeconds`; past it, one attempt per `accountDelaySeconds`. */
  perAccount: number;
  windowSeconds: number;
  addressWindowSeconds: number;
  accountDelaySeconds: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  logLevel: (typeof LOG_LEVELS)[number];
  dataDir: string;
  databaseUrl: string | undefined;
  /** Where the log lives; with 'kurrentdb' the chain, keys and file bytes stay in PostgreSQL (DATABASE_URL). */
  eventStore: 'sqlite' | 'postgres' | 'kurrentdb';
  /** KurrentDB connection string, for EVENT_STORE=kurrentdb. */
  kurrentdbUrl: string | undefined;
  readDb: 'pglite' | 'postgres';
  masterKey: string | undefined;
  /** PKCS#8 PEM of the Ed25519 key that signs chain checkpoints; unset: DATA_DIR/chain-signing.pem. */
  chainSigningKey: string | undefined;
  projectionBatchSize: number;
  /** How long a mutation waits for the read models to show its write before answering it flagged pending. */
  readYourWritesTimeoutMs: number;
  /** /readyz answers not ready while a projection (or the chain sealer) is more than this many events behind. */
  readyMaxLag: number;
  /** When set, /metrics wants `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  host: string;
  port: number;
  redisUrl: string | undefined;
  sessionTtlMs: number;
  openai: { baseUrl: string; apiKey: string | undefined } | undefined;
  /** Anthropic Messages: on when ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL is set (the key may then come from an admin). */
  anthropic: { baseUrl: string | undefined; apiKey: string | undefined; maxTokens: number } | undefined;
  /** Google Gemini: on when GEMINI_API_KEY or GEMINI_BASE_URL is set. */
  gemini: { baseUrl: string | undefined; apiKey: string | undefined } | undefined;
  /** Ollama's native API: on when OLLAMA_BASE_URL is set. */
  ollama: { baseUrl: string; apiKey: string | undefined } | undefined;
  defaultModel: string | undefined;
  providerTimeoutMs: number;
  graphql: GraphQLLimits;
  /** Origins allowed to call the API from a browser page elsewhere; empty: same origin only. `*`: any. */
  corsOrigins: string[];
  /** Express `trust proxy`: which proxies' X-Forwarded-For is believed for the client address. */
  trustProxy: boolean | number | string[];
  /** Serve HTTPS with this certificate chain and key (PEM files); unset: plain HTTP. */
  tls: { certFile: string; keyFile: string } | undefined;
  loginThrottle: LoginThrottleSettings;
  /** Longest wait for a provider's response headers (for a model listing, the whole answer). */
  providerConnectTimeoutMs: number;
  documents: DocumentSettings;
}

export interface DocumentSettings {
  maxUploadBytes: number;
  extraction: { maxPages: number; timeoutMs: number; maxMemoryMb: number; maxUncompressedBytes: number };
  /** Documents extracted, chunked and embedded at once on this instance. */
  ingestionConcurrency: number;
  chunkTokens: number;
  overlapTokens: number;
  /** The embedding model: an OpenAI-compatible /embeddings endpoint, or a local GGUF file; neither: lexical retrieval only. */
  embeddings: EmbeddingsConfig | undefined;
  /** The model before a change of `embeddings`, for queries while the new model's space is being filled. */
  previousEmbeddings: EmbeddingsConfig | undefined;
  weaviate: { url: string; apiKey: string | undefined } | undefined;
}

export type EmbeddingsConfig =
  | { kind: 'openai-compatible'; baseUrl: string; apiKey: string | undefined; model: string }
  | { kind: 'gguf'; path: string };

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
    const echo = name in present && !SECRET_VARIABLES.has(name) ? ` (got "${present[name]}")` : '';
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${echo}`);
  }
  const c = parsed.data;
  const eventStore = c.EVENT_STORE ?? (c.DATABASE_URL ? 'postgres' : 'sqlite');
  const readDb = c.READ_DB ?? (c.DATABASE_URL ? 'postgres' : 'pglite');
  if ((eventStore === 'postgres' || readDb === 'postgres') && !c.DATABASE_URL) {
    throw new ConfigError(`Invalid configuration: EVENT_STORE=${eventStore} and READ_DB=${readDb} need DATABASE_URL`);
  }
  if (eventStore === 'kurrentdb' && !c.KURRENTDB_URL) {
    throw new ConfigError('Invalid configuration: EVENT_STORE=kurrentdb needs KURRENTDB_URL (e.g. kurrentdb://127.0.0.1:2113?tls=false)');
  }
  if (eventStore === 'kurrentdb' && !c.DATABASE_URL) {
    // KurrentDB holds only the log: the hash chain, the key store and file bytes need SQL beside it.
    throw new ConfigError('Invalid configuration: EVENT_STORE=kurrentdb needs DATABASE_URL (PostgreSQL keeps the chain, the keys and the read models)');
  }
  if (eventStore === 'kurrentdb' && !c.MASTER_KEY) {
    throw new ConfigError('Invalid configuration: EVENT_STORE=kurrentdb needs MASTER_KEY, shared by every instance (openssl rand -base64 32)');
  }
  if (eventStore === 'kurrentdb' && c.NODE_ENV === 'production' && !c.CHAIN_SIGNING_KEY) {
    throw new ConfigError('Invalid configuration: EVENT_STORE=kurrentdb in production needs CHAIN_SIGNING_KEY, shared by every instance (openssl genpkey -algorithm ed25519)');
  }
  if (eventStore === 'postgres' && !c.MASTER_KEY) {
    // A key generated into one instance's data directory would leave the others unable to read personal data.
    throw new ConfigError('Invalid configuration: EVENT_STORE=postgres needs MASTER_KEY, shared by every instance (openssl rand -base64 32)');
  }
  if (eventStore === 'postgres' && c.NODE_ENV === 'production' && !c.CHAIN_SIGNING_KEY) {
    // Each instance would sign checkpoints with a key of its own, generated into its data directory.
    throw new ConfigError('Invalid configuration: EVENT_STORE=postgres in production needs CHAIN_SIGNING_KEY, shared by every instance (openssl genpkey -algorithm ed25519)');
  }
  if (c.EMBEDDINGS_BASE_URL && !c.EMBEDDINGS_MODEL) {
    throw new ConfigError('Invalid configuration: EMBEDDINGS_BASE_URL needs EMBEDDINGS_MODEL (the embedding model to ask for)');
  }
  if (c.EMBEDDINGS_BASE_URL && c.EMBEDDINGS_GGUF_PATH) {
    throw new ConfigError('Invalid configuration: set EMBEDDINGS_BASE_URL or EMBEDDINGS_GGUF_PATH, not both');
  }
  const previous = c.EMBEDDINGS_PREVIOUS_MODEL !== undefined || c.EMBEDDINGS_PREVIOUS_GGUF_PATH !== undefined;
  if ((previous || c.EMBEDDINGS_PREVIOUS_BASE_URL || c.EMBEDDINGS_PREVIOUS_API_KEY) && !c.EMBEDDINGS_BASE_URL && !c.EMBEDDINGS_GGUF_PATH) {
    throw new ConfigError('Invalid configuration: EMBEDDINGS_PREVIOUS_* describe the model before a change, and need the current one (EMBEDDINGS_BASE_URL or EMBEDDINGS_GGUF_PATH)');
  }
  if (c.EMBEDDINGS_PREVIOUS_MODEL && c.EMBEDDINGS_PREVIOUS_GGUF_PATH) {
    throw new ConfigError('Invalid configuration: set EMBEDDINGS_PREVIOUS_MODEL or EMBEDDINGS_PREVIOUS_GGUF_PATH, not both');
  }
  if (c.EMBEDDINGS_PREVIOUS_MODEL && !(c.EMBEDDINGS_PREVIOUS_BASE_URL ?? c.EMBEDDINGS_BASE_URL)) {
    throw new ConfigError('Invalid configuration: EMBEDDINGS_PREVIOUS_MODEL needs EMBEDDINGS_PREVIOUS_BASE_URL (the current EMBEDDINGS_BASE_URL is the default, and it is unset)');
  }
  if ((c.EMBEDDINGS_PREVIOUS_BASE_URL || c.EMBEDDINGS_PREVIOUS_API_KEY) && !c.EMBEDDINGS_PREVIOUS_MODEL) {
    throw new ConfigError('Invalid configuration: EMBEDDINGS_PREVIOUS_BASE_URL and EMBEDDINGS_PREVIOUS_API_KEY need EMBEDDINGS_PREVIOUS_MODEL');
  }
  if ((c.TLS_CERT_FILE === undefined) !== (c.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('Invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE must be set together (HTTPS needs both the certificate and its key)');
  }
  if (c.CHUNK_OVERLAP_TOKENS >= c.CHUNK_TOKENS) {
    throw new ConfigError(`Invalid configuration: CHUNK_OVERLAP_TOKENS must be less than CHUNK_TOKENS (got ${c.CHUNK_OVERLAP_TOKENS} and ${c.CHUNK_TOKENS})`);
  }
  return {
    env: c.NODE_ENV,
    logLevel: c.LOG_LEVEL,
    dataDir: resolve(c.DATA_DIR),
    databaseUrl: c.DATABASE_URL,
    eventStore,
    kurrentdbUrl: c.KURRENTDB_URL,
    readDb,
    masterKey: c.MASTER_KEY,
    chainSigningKey: c.CHAIN_SIGNING_KEY,
    projectionBatchSize: c.PROJECTION_BATCH_SIZE,
    readYourWritesTimeoutMs: c.READ_YOUR_WRITES_TIMEOUT_MS,
    readyMaxLag: c.READY_MAX_LAG,
    metricsToken: c.METRICS_TOKEN,
    host: c.HOST,
    port: c.PORT,
    redisUrl: c.REDIS_URL,
    sessionTtlMs: c.SESSION_TTL_HOURS * 3_600_000,
    openai: c.OPENAI_BASE_URL ? { baseUrl: c.OPENAI_BASE_URL.replace(/\/+$/, ''), apiKey: c.OPENAI_API_KEY } : undefined,
    anthropic: c.ANTHROPIC_API_KEY || c.ANTHROPIC_BASE_URL
      ? { baseUrl: c.ANTHROPIC_BASE_URL?.replace(/\/+$/, ''), apiKey: c.ANTHROPIC_API_KEY, maxTokens: c.ANTHROPIC_MAX_TOKENS }
      : undefined,
    gemini: c.GEMINI_API_KEY || c.GEMINI_BASE_URL ? { baseUrl: c.GEMINI_BASE_URL?.replace(/\/+$/, ''), apiKey: c.GEMINI_API_KEY } : undefined,
    ollama: c.OLLAMA_BASE_URL ? { baseUrl: c.OLLAMA_BASE_URL.replace(/\/+$/, ''), apiKey: c.OLLAMA_API_KEY } : undefined,
    defaultModel: c.DEFAULT_MODEL,
    providerTimeoutMs: c.PROVIDER_TIMEOUT_MS,
    graphql: {
      introspection: c.GRAPHQL_INTROSPECTION ?? c.NODE_ENV !== 'production',
      suggestions: c.GRAPHQL_SUGGESTIONS ?? c.NODE_ENV !== 'production',
      maxDepth: c.GRAPHQL_MAX_DEPTH,
      maxAliases: c.GRAPHQL_MAX_ALIASES,
      maxTokens: c.GRAPHQL_MAX_TOKENS,
      maxCost: c.GRAPHQL_MAX_COST,
      maxDirectives: c.GRAPHQL_MAX_DIRECTIVES,
    },
    corsOrigins: c.CORS_ORIGINS ?? [],
    trustProxy: c.TRUST_PROXY ?? false,
    tls: c.TLS_CERT_FILE && c.TLS_KEY_FILE ? { certFile: resolve(c.TLS_CERT_FILE), keyFile: resolve(c.TLS_KEY_FILE) } : undefined,
    loginThrottle: {
      perAccountAndAddress: c.LOGIN_LIMIT_PER_ACCOUNT_ADDRESS,
      perAddress: c.LOGIN_LIMIT_PER_ADDRESS,
      perAccount: c.LOGIN_LIMIT_PER_ACCOUNT,
      windowSeconds: c.LOGIN_WINDOW_SECONDS,
      addressWindowSeconds: c.LOGIN_ADDRESS_WINDOW_SECONDS,
      accountDelaySeconds: c.LOGIN_ACCOUNT_DELAY_SECONDS,
    },
    providerConnectTimeoutMs: c.PROVIDER_CONNECT_TIMEOUT_MS,
    documents: {
      maxUploadBytes: c.MAX_UPLOAD_BYTES,
      extraction: {
        maxPages: c.EXTRACTION_MAX_PAGES, timeoutMs: c.EXTRACTION_TIMEOUT_MS,
        maxMemoryMb: c.EXTRACTION_MAX_MEMORY_MB, maxUncompressedBytes: c.EXTRACTION_MAX_UNCOMPRESSED_BYTES,
      },
      ingestionConcurrency: c.INGESTION_CONCURRENCY,
      chunkTokens: c.CHUNK_TOKENS,
      overlapTokens: c.CHUNK_OVERLAP_TOKENS,
      embeddings: c.EMBEDDINGS_BASE_URL
        ? { kind: 'openai-compatible', baseUrl: c.EMBEDDINGS_BASE_URL.replace(/\/+$/, ''), apiKey: c.EMBEDDINGS_API_KEY, model: c.EMBEDDINGS_MODEL! }
        : c.EMBEDDINGS_GGUF_PATH ? { kind: 'gguf', path: resolve(c.EMBEDDINGS_GGUF_PATH) } : undefined,
      previousEmbeddings: c.EMBEDDINGS_PREVIOUS_MODEL
        ? {
          kind: 'openai-compatible', baseUrl: (c.EMBEDDINGS_PREVIOUS_BASE_URL ?? c.EMBEDDINGS_BASE_URL)!.replace(/\/+$/, ''),
          apiKey: c.EMBEDDINGS_PREVIOUS_API_KEY ?? c.EMBEDDINGS_API_KEY, model: c.EMBEDDINGS_PREVIOUS_MODEL,
        }
        : c.EMBEDDINGS_PREVIOUS_GGUF_PATH ? { kind: 'gguf', path: resolve(c.EMBEDDINGS_PREVIOUS_GGUF_PATH) } : undefined,
      weaviate: c.WEAVIATE_URL ? { url: c.WEAVIATE_URL.replace(/\/+$/, ''), apiKey: c.WEAVIATE_API_KEY } : undefined,
    },
  };
}

/** Loads `.env` from the working directory into process.env when present; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
