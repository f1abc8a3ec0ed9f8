// /readyz bounds each check: a read database that hangs (here: a lock another session holds on the
// migrations table) makes the instance not ready with a reason, instead of making /readyz hang too.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import { startTestApp, type TestApp } from './support.ts';

const skip = postgresSkipReason('/readyz with a hanging read database');

describe.skipIf(skip !== undefined)('/readyz', () => {
  let database: TestDatabase;
  let t: TestApp;
  let server: RunningServer;
  let base: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp({ env: { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') } });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
    await database?.drop();
  });

  it('is ready on a healthy instance, and not ready (with the reason, still answering) while the read database hangs', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });

    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
      const hung = await fetch(`${base}/readyz`);
      expect(hung.status).toBe(503);
      const body = await hung.json() as { status: string; reasons: string[] };
      expect(body.status).toBe('not ready');
      expect(body.reasons).toContain('read database did not answer within 3 s');
      expect(hung.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
    }
    const again = await fetch(`${base}/readyz`);
    expect(again.status).toBe(200);
  });
});
