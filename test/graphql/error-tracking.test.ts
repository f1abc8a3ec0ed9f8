// Sentry: with error tracking started, an unexpected error in a resolver reaches a loopback server
// speaking Sentry's envelope endpoint, without the request, its headers, the bearer token or e-mail
// addresses; a client error (BAD_USER_INPUT) is not sent at all.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushErrorTracking, startErrorTracking } from '../../src/infra/error-tracking.ts';
import { fails, gql, newUser, startTestApp, START, type TestApp } from './support.ts';

describe('error tracking (Sentry) against a loopback envelope receiver', () => {
  const envelopes: Array<{ path: string; body: string; headers: Record<string, unknown> }> = [];
  let receiver: Server;
  let t: TestApp;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        envelopes.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    await startErrorTracking(`http://publickey@127.0.0.1:${port}/42`, 'test');
    t = await startTestApp({ provider: false });
  });

  afterAll(async () => {
    await t?.close();
    receiver?.close();
  });

  it('sends an unexpected error, scrubbed, and no client error', async () => {
    const user = await newUser(t.yoga);
    expect((await fails(t.yoga, '{ conversation(id: "nope") { id } }', {}, user.token)).code).toMatch(/^(BAD_USER_INPUT|NOT_FOUND)$/);
    expect((await fails(t.yoga, '{ nope }', {}, user.token)).code).toBe('GRAPHQL_VALIDATION_FAILED');
    await flushErrorTracking();
    expect(envelopes).toHaveLength(0);

    const original = t.app.conversations.start.bind(t.app.conversations);
    t.app.conversations.start = async () => { throw new Error(`database exploded for ${user.email}, Bearer ${user.token}`); };
    try {
      const result = await gql(t.yoga, START, { input: { title: 'secret title' } }, user.token);
      expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      t.app.conversations.start = original;
    }
    await flushErrorTracking();
    expect(envelopes).toHaveLength(1);
    const [envelope] = envelopes;
    expect(envelope!.path.split('?')[0]).toBe('/api/42/envelope/');
    expect(envelope!.body).toContain('database exploded for [email]');
    expect(envelope!.body).toContain('"type":"Error"');
    for (const secret of [user.email, user.token, 'secret title', 'authorization', 'Authorization']) expect(envelope!.body).not.toContain(secret);
    const event = JSON.parse(envelope!.body.split('\n')[2]!) as Record<string, unknown>;
    expect(event.request).toBeUndefined();
    expect(event.user).toBeUndefined();
    expect(event.tags).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) });
  });
});
