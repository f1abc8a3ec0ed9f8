import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infra/config.ts';

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
  ])('rejects %o with one clear line', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('reads the server, session and provider settings', () => {
    expect(loadConfig({ PORT: '8080', HOST: '0.0.0.0', REDIS_URL: 'redis://127.0.0.1:6379', SESSION_TTL_HOURS: '2',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/', OPENAI_API_KEY: 'k', DEFAULT_MODEL: 'llama3.2' }))
      .toMatchObject({ port: 8080, host: '0.0.0.0', redisUrl: 'redis://127.0.0.1:6379', sessionTtlMs: 7_200_000,
        openai: { baseUrl: 'http://127.0.0.1:11434/v1', apiKey: 'k' }, defaultModel: 'llama3.2' });
    expect(loadConfig({}).openai).toBeUndefined();
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
