import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/infra/config.ts';

describe('configuration', () => {
  it('defaults to the embedded setup', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ eventStore: 'sqlite', readDb: 'pglite', env: 'development', logLevel: 'info', projectionBatchSize: 500 });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('runs on PostgreSQL when DATABASE_URL is set, unless told otherwise', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' })).toMatchObject({ eventStore: 'postgres', readDb: 'postgres' });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', EVENT_STORE: 'sqlite' })).toMatchObject({ eventStore: 'sqlite', readDb: 'postgres' });
  });

  it.each([
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL .*\(got "loud"\)$/],
    [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must be a postgres/],
    [{ EVENT_STORE: 'postgres' }, /need DATABASE_URL/],
    [{ MASTER_KEY: 'c2hvcnQ=' }, /MASTER_KEY must be 32 bytes/],
    [{ PROJECTION_BATCH_SIZE: '0' }, /PROJECTION_BATCH_SIZE/],
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

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).eventStore).toBe('sqlite');
  });
});
