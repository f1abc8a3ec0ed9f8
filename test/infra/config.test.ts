import { resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infra/config.ts';
import { refusal } from '../support/refusal.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('configuration', () => {
  it('defaults to the embedded setup', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ eventStore: 'sqlite', readDb: 'pglite', env: 'development', logLevel: 'info', projectionBatchSize: 500 });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('runs on PostgreSQL when DATABASE_URL is set, unless told otherwise', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY })).toMatchObject({ eventStore: 'postgres', readDb: 'postgres' });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', EVENT_STORE: 'sqlite' })).toMatchObject({ eventStore: 'sqlite', readDb: 'postgres' });
  });

  it('runs the log on KurrentDB with KURRENTDB_URL, the rest on PostgreSQL', () => {
    const config = loadConfig({ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113?tls=false', DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY });
    expect(config).toMatchObject({ eventStore: 'kurrentdb', kurrentdbUrl: 'kurrentdb://127.0.0.1:2113?tls=false', readDb: 'postgres' });
    expect(loadConfig({ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb+discover://a:2113,b:2113', DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY, READ_DB: 'pglite' }))
      .toMatchObject({ eventStore: 'kurrentdb', readDb: 'pglite' });
    // KURRENTDB_URL alone does not switch the log.
    expect(loadConfig({ KURRENTDB_URL: 'kurrentdb://h:2113' }).eventStore).toBe('sqlite');
  });

  it.each([
    [{ EVENT_STORE: 'kurrentdb' }, /EVENT_STORE=kurrentdb needs KURRENTDB_URL/],
    [{ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://h:2113' }, /EVENT_STORE=kurrentdb needs DATABASE_URL/],
    [{ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://h:2113', DATABASE_URL: 'postgres://u@h/db' }, /EVENT_STORE=kurrentdb needs MASTER_KEY/],
    [{ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://h:2113', DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY, NODE_ENV: 'production' }, /EVENT_STORE=kurrentdb in production needs CHAIN_SIGNING_KEY/],
    [{ EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'http://h:2113' }, /^Invalid configuration: KURRENTDB_URL must be a kurrentdb:\/\/ .*connection string$/],
    [{ EVENT_STORE: 'eventstore' }, /^Invalid configuration: EVENT_STORE/],
  ])('rejects KurrentDB settings %o with one clear line', (env, message) => {
    const error = refusal(() => loadConfig(env), ConfigError);
    expect(error.message).toMatch(message);
  });

  it('never echoes KURRENTDB_URL (it may hold a password)', () => {
    const error = refusal(() => loadConfig({ KURRENTDB_URL: 'https://admin:s3cret@h:2113' }), ConfigError);
    expect(error.message).not.toContain('s3cret');
  });

  it.each([
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL .*\(got "loud"\)$/],
    [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must be a postgres/],
    [{ EVENT_STORE: 'postgres' }, /need DATABASE_URL/],
    [{ MASTER_KEY: 'c2hvcnQ=' }, /MASTER_KEY must be 32 bytes/],
    [{ PROJECTION_BATCH_SIZE: '0' }, /PROJECTION_BATCH_SIZE/],
    [{ DATABASE_URL: 'postgres://u@h/db' }, /EVENT_STORE=postgres needs MASTER_KEY/],
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must be a redis/],
    [{ OPENAI_BASE_URL: 'ftp://x' }, /OPENAI_BASE_URL must be an http/],
    [{ CHAIN_SIGNING_KEY: 'not a pem' }, /^Invalid configuration: CHAIN_SIGNING_KEY must be an Ed25519 private key/],
    [{ DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY, NODE_ENV: 'production' }, /EVENT_STORE=postgres in production needs CHAIN_SIGNING_KEY/],
  ])('rejects %o with one clear line', (env, message) => {
    const error = refusal(() => loadConfig(env), ConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('takes a chain signing key as PEM text, so production on PostgreSQL can start', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', MASTER_KEY: KEY, NODE_ENV: 'production', CHAIN_SIGNING_KEY: pem }).chainSigningKey).toBe(pem);
  });

  it('reads the server, session and provider settings', () => {
    expect(loadConfig({ PORT: '8080', HOST: '0.0.0.0', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_TTL_HOURS: '2',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/', OPENAI_API_KEY: 'k', DEFAULT_MODEL: 'llama3.2' }))
      .toMatchObject({ port: 8080, host: '0.0.0.0', redisUrl: 'redis://127.0.0.1:6379', sessionTtlMs: 7_200_000,
        openai: { baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'k' }, defaultModel: 'llama3.2' });
    expect(loadConfig({}).openai).toBeUndefined();
  });

  it('turns on Anthropic, Gemini and Ollama beside the OpenAI-compatible provider, never echoing their keys', () => {
    const config = loadConfig({
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', ANTHROPIC_API_KEY: 'sk-ant', GEMINI_BASE_URL: 'http://127.0.0.1:9/',
      OLLAMA_BASE_URL: 'http://127.0.0.1:11434/', ANTHROPIC_MAX_TOKENS: '1024',
    });
    expect(config.anthropic).toEqual({ baseUrl: undefined, apiKey: 'sk-ant', maxTokens: 1024 });
    expect(config.gemini).toEqual({ baseUrl: 'http://127.0.0.1:9', apiKey: undefined });
    expect(config.ollama).toEqual({ baseUrl: 'http://127.0.0.1:11434', apiKey: undefined });
    const none = loadConfig({});
    expect([none.anthropic, none.gemini, none.ollama]).toEqual([undefined, undefined, undefined]);
    expect(() => loadConfig({ ANTHROPIC_BASE_URL: 'ftp://secret@x' })).toThrow(/ANTHROPIC_BASE_URL must be an http\(s\) URL/);
    expect(() => loadConfig({ OLLAMA_BASE_URL: 'not a url secret' })).not.toThrow(/secret/);
    expect(() => loadConfig({ OLLAMA_BASE_URL: 'not a url secret' })).toThrow(/OLLAMA_BASE_URL/);
  });

  it('never echoes a secret in a configuration error', () => {
    const secrets: Array<[Record<string, string>, string, RegExp]> = [
      [{ DATABASE_URL: 'postgres://evident:s3cr3t-db-pw@db:99999/evident' }, 's3cr3t-db-pw', /^Invalid configuration: DATABASE_URL must be a postgres/],
      [{ DATABASE_URL: 'mysql://evident:s3cr3t-db-pw@db/evident' }, 's3cr3t-db-pw', /^Invalid configuration: DATABASE_URL must be a postgres/],
      [{ REDIS_URL: 'http://:s3cr3t-redis-pw@cache:6379' }, 's3cr3t-redis-pw', /^Invalid configuration: REDIS_URL/],
      [{ CHAIN_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----s3cr3t-signing' }, 's3cr3t-signing', /^Invalid configuration: CHAIN_SIGNING_KEY/],
      [{ MASTER_KEY: 'not-base64-s3cr3t-master' }, 's3cr3t-master', /^Invalid configuration: MASTER_KEY must be 32 bytes/],
      [{ OPENAI_BASE_URL: 'ftp://user:s3cr3t-key@host/v1' }, 's3cr3t-key', /^Invalid configuration: OPENAI_BASE_URL/],
    ];
    for (const [env, secret, message] of secrets) {
      const error = refusal(() => loadConfig(env), ConfigError);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(secret);
    }
    // An API key is never validated into a message, and other errors do not carry it either.
    let error: unknown;
    try {
      loadConfig({ OPENAI_API_KEY: 'sk-s3cr3t-api-key', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', PORT: 'eighty' });
    } catch (e) {
      error = e;
    }
    expect((error as Error).message).toMatch(/^Invalid configuration: PORT .*\(got "eighty"\)$/);
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('hardens production: no introspection, no suggestions; same-origin CORS, no trusted proxy, login limits by default', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).graphql).toEqual({
      introspection: false, suggestions: false, maxDepth: 10, maxAliases: 15, maxTokens: 2000, maxCost: 50_000, maxDirectives: 50,
    });
    expect(loadConfig({}).graphql).toMatchObject({ introspection: true, suggestions: true });
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true', GRAPHQL_SUGGESTIONS: 'on' }).graphql)
      .toMatchObject({ introspection: true, suggestions: true });
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'false', GRAPHQL_MAX_DEPTH: '7', GRAPHQL_MAX_TOKENS: '500' }).graphql)
      .toMatchObject({ introspection: false, maxDepth: 7, maxTokens: 500 });
    const defaults = loadConfig({});
    expect(defaults.corsOrigins).toEqual([]);
    expect(defaults.trustProxy).toBe(false);
    expect(defaults.loginThrottle).toEqual({
      perAccountAndAddress: 5, perAddress: 100, perAccount: 20, windowSeconds: 900, addressWindowSeconds: 3600, accountDelaySeconds: 5,
    });
  });

  it('reads CORS origins and trusted proxies', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/' }).corsOrigins)
      .toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(() => loadConfig({ TRUST_PROXY: 'not-an-address' })).toThrow(/^Invalid configuration: TRUST_PROXY/);
    expect(() => loadConfig({ CORS_ORIGINS: 'app.example.com' })).toThrow(/^Invalid configuration: CORS_ORIGINS/);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'maybe' })).toThrow(/^Invalid configuration: GRAPHQL_INTROSPECTION/);
    expect(() => loadConfig({ LOGIN_LIMIT_PER_ACCOUNT_ADDRESS: '0' })).toThrow(/^Invalid configuration: LOGIN_LIMIT_PER_ACCOUNT_ADDRESS/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).eventStore).toBe('sqlite');
  });
});

describe('.env file', () => {
  it('fills unset variables from the file; real environment variables win', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { loadDotEnv } = await import('../../src/infra/config.ts');
    const dir = mkdtempSync(join(tmpdir(), 'evident-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'EVIDENT_TEST_FROM_FILE=file\nEVIDENT_TEST_BOTH=file\n');
    process.env.EVIDENT_TEST_BOTH = 'environment';
    try {
      loadDotEnv(file);
      expect(process.env.EVIDENT_TEST_FROM_FILE).toBe('file');
      expect(process.env.EVIDENT_TEST_BOTH).toBe('environment');
      expect(() => loadDotEnv(join(dir, 'missing.env'))).not.toThrow();
    } finally {
      delete process.env.EVIDENT_TEST_FROM_FILE;
      delete process.env.EVIDENT_TEST_BOTH;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration of documents and retrieval', () => {
  it('defaults: 50 MB uploads, 512/64-token chunks, lexical retrieval only (no embedder), no Weaviate', () => {
    expect(loadConfig({}).documents).toEqual({
      maxUploadBytes: 52_428_800,
      extraction: { maxPages: 500, timeoutMs: 120_000, maxMemoryMb: 512, maxUncompressedBytes: 268_435_456 },
      ingestionConcurrency: 2, chunkTokens: 512, overlapTokens: 64, embeddings: undefined, previousEmbeddings: undefined, weaviate: undefined,
    });
  });

  it('reads an OpenAI-compatible embedder, a GGUF embedder and Weaviate', () => {
    expect(loadConfig({ EMBEDDINGS_BASE_URL: 'http://127.0.0.1:11434/v1/', EMBEDDINGS_MODEL: 'nomic-embed-text', EMBEDDINGS_API_KEY: 'k' }).documents.embeddings)
      .toEqual({ kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'k', model: 'nomic-embed-text' });
    expect(loadConfig({ EMBEDDINGS_GGUF_PATH: '/models/e5.gguf' }).documents.embeddings).toEqual({ kind: 'gguf', path: '/models/e5.gguf' });
    expect(loadConfig({ WEAVIATE_URL: 'http://w:8080/' }).documents.weaviate).toEqual({ url: 'http://w:8080', apiKey: undefined });
  });

  it('reads the previous embedding model, its API and key defaulting to the current ones', () => {
    const current = { EMBEDDINGS_BASE_URL: 'http://e/v1', EMBEDDINGS_MODEL: 'new', EMBEDDINGS_API_KEY: 'k' };
    expect(loadConfig({ ...current, EMBEDDINGS_PREVIOUS_MODEL: 'old' }).documents.previousEmbeddings)
      .toEqual({ kind: 'openai-compatible', baseUrl: 'http://e/v1', apiKey: 'k', model: 'old' });
    expect(loadConfig({ ...current, EMBEDDINGS_PREVIOUS_MODEL: 'old', EMBEDDINGS_PREVIOUS_BASE_URL: 'http://p/v1/', EMBEDDINGS_PREVIOUS_API_KEY: 'pk' })
      .documents.previousEmbeddings).toEqual({ kind: 'openai-compatible', baseUrl: 'http://p/v1', apiKey: 'pk', model: 'old' });
    expect(loadConfig({ EMBEDDINGS_GGUF_PATH: '/new.gguf', EMBEDDINGS_PREVIOUS_GGUF_PATH: '/old.gguf' }).documents.previousEmbeddings)
      .toEqual({ kind: 'gguf', path: '/old.gguf' });
    expect(loadConfig(current).documents.previousEmbeddings).toBeUndefined();
  });

  it('pins the upload limit exactly: 1 byte and 10 GiB accepted, 0 and one more refused', () => {
    expect(loadConfig({ MAX_UPLOAD_BYTES: '1' }).documents.maxUploadBytes).toBe(1);
    expect(loadConfig({ MAX_UPLOAD_BYTES: String(10 * 1024 ** 3) }).documents.maxUploadBytes).toBe(10 * 1024 ** 3);
    for (const value of ['0', String(10 * 1024 ** 3 + 1), 'lots']) {
      expect(refusal(() => loadConfig({ MAX_UPLOAD_BYTES: value }), ConfigError).message).toMatch(/^Invalid configuration: MAX_UPLOAD_BYTES/);
    }
  });

  it.each([
    [{ EMBEDDINGS_BASE_URL: 'http://e/v1' }, /EMBEDDINGS_BASE_URL needs EMBEDDINGS_MODEL/],
    [{ EMBEDDINGS_BASE_URL: 'http://e/v1', EMBEDDINGS_MODEL: 'm', EMBEDDINGS_GGUF_PATH: '/m.gguf' }, /not both/],
    [{ EMBEDDINGS_PREVIOUS_MODEL: 'old' }, /EMBEDDINGS_PREVIOUS_\* describe the model before a change, and need the current one/],
    [{ EMBEDDINGS_GGUF_PATH: '/new.gguf', EMBEDDINGS_PREVIOUS_MODEL: 'old' }, /EMBEDDINGS_PREVIOUS_MODEL needs EMBEDDINGS_PREVIOUS_BASE_URL/],
    [{ EMBEDDINGS_GGUF_PATH: '/n.gguf', EMBEDDINGS_PREVIOUS_MODEL: 'old', EMBEDDINGS_PREVIOUS_BASE_URL: 'http://p/v1', EMBEDDINGS_PREVIOUS_GGUF_PATH: '/o.gguf' }, /not both/],
    [{ EMBEDDINGS_GGUF_PATH: '/n.gguf', EMBEDDINGS_PREVIOUS_API_KEY: 'pk' }, /need EMBEDDINGS_PREVIOUS_MODEL/],
    [{ CHUNK_TOKENS: '64', CHUNK_OVERLAP_TOKENS: '64' }, /CHUNK_OVERLAP_TOKENS must be less than CHUNK_TOKENS/],
    [{ EXTRACTION_MAX_MEMORY_MB: '15' }, /^Invalid configuration: EXTRACTION_MAX_MEMORY_MB/],
    [{ WEAVIATE_URL: 'grpc://w' }, /WEAVIATE_URL must be an http/],
  ])('rejects %o with one clear line', (env, message) => {
    const error = refusal(() => loadConfig(env), ConfigError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('never echoes the embeddings or Weaviate URLs and keys', () => {
    const error = refusal(() => loadConfig({ EMBEDDINGS_BASE_URL: 'ftp://user:secret@e' }), ConfigError);
    expect(error.message).not.toContain('secret');
    const previous = refusal(() => loadConfig({ EMBEDDINGS_GGUF_PATH: '/n.gguf', EMBEDDINGS_PREVIOUS_MODEL: 'o', EMBEDDINGS_PREVIOUS_BASE_URL: 'ftp://user:secret@e' }), ConfigError);
    expect(previous.message).not.toContain('secret');
  });

  it('serves HTTPS only with both TLS files, given as paths resolved from the working directory', () => {
    expect(loadConfig({}).tls).toBeUndefined();
    expect(loadConfig({ TLS_CERT_FILE: '/etc/evident/cert.pem', TLS_KEY_FILE: 'key.pem' }).tls)
      .toEqual({ certFile: '/etc/evident/cert.pem', keyFile: resolve('key.pem') });
    for (const half of [{ TLS_CERT_FILE: '/c.pem' }, { TLS_KEY_FILE: '/k.pem' }]) {
      expect(() => loadConfig(half)).toThrow(/TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    }
  });
});
