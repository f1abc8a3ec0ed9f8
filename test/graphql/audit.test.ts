import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { startTestApp, type TestApp } from './support.ts';


describe('GraphQL over HTTP compliance (graphql-http audit against startServer)', () => {
  let t: TestApp;
  let server: RunningServer;

  beforeAll(async () => {
    t = await startTestApp();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('passes every MUST of the GraphQL-over-HTTP spec (warnings allowed)', async () => {
    const results = await auditServer({ url: server.url, fetchFn: fetch });
    expect(results.length).toBeGreaterThan(0);
    const failures = results.filter((result) => result.status === 'error');
    const report = failures.map((result) => `${result.id} ${result.name}: ${'reason' in result ? result.reason : ''}`).join('\n');
    expect(failures, `failing audits:\n${report}`).toEqual([]);
  });

  it('serves the health check and a plain query', async () => {
    expect(await (await fetch(server.url.replace('/graphql', '/healthz'))).json()).toEqual({ status: 'ok' });
    const response = await fetch(server.url, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ health }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/graphql-response+json');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ data: { health: 'ok' } });
  });
});
