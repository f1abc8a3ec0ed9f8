// Health and metrics of two server processes sharing PostgreSQL and Redis: /readyz goes not ready on
// both when a projection stops at a poison event and ready again once an admin parks it; /metrics on
// each shows the operations this test sent to that instance and the projection's lag.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  eventually, gql, REDIS_URL, removeTempDirs, scaleOutSkipReason, signUp, startConversation, startFakeProvider, startServer,
  stopAllProcesses, tempDir, type ProviderProcess, type ServerProcess,
} from './support.ts';

const METRICS_TOKEN = 'metrics-token-for-the-e2e-test';

const base = (server: ServerProcess) => server.url.replace(/\/graphql$/, '');

async function readyz(server: ServerProcess): Promise<{ status: number; body: { status: string; reasons?: string[] } }> {
  const response = await fetch(`${base(server)}/readyz`);
  return { status: response.status, body: await response.json() as { status: string; reasons?: string[] } };
}

async function metrics(server: ServerProcess): Promise<string> {
  const response = await fetch(`${base(server)}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

/** The value of the series `name{labels…}` (labels matched as a subset), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const skip = scaleOutSkipReason('e2e health and metrics on PostgreSQL + Redis');

describe.skipIf(skip !== undefined)('e2e: /healthz, /readyz and /metrics of two instances', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;
  let servers: ServerProcess[];

  beforeAll(async () => {
    database = await createTestDatabase();
    provider = await startFakeProvider();
    const shared = {
      databaseUrl: database.url, masterKey: randomBytes(32).toString('base64'), redisUrl: REDIS_URL!, providerUrl: provider.url,
      env: { METRICS_TOKEN, READY_MAX_LAG: '1000' },
    };
    servers = [await startServer({ dataDir: tempDir(), ...shared }), await startServer({ dataDir: tempDir(), ...shared })];
  });

  afterAll(async () => {
    try {
      for (const server of servers ?? []) expect(await server.stop()).toEqual({ code: 0, signal: null });
      await provider?.stop();
    } finally {
      await stopAllProcesses();
      await database?.drop();
      removeTempDirs();
    }
  });

  it('/healthz answers with an x-request-id; /metrics wants the token', async () => {
    const response = await fetch(`${base(servers[0]!)}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await fetch(`${base(servers[0]!)}/metrics`)).status).toBe(401);
    expect((await fetch(`${base(servers[0]!)}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('not ready on both while a projection is stopped at an event, ready again once it is parked; metrics show lag and operations', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const admin = await signUp(a.url); // the first account is the admin
    for (const server of servers) {
      await eventually(async () => ((await readyz(server)).status === 200 ? true : undefined), 'ready at the start');
    }
    // Operations this test causes, a different number on each instance.
    for (let i = 0; i < 3; i++) await startConversation(a.url, admin.token, 'fake-echo');
    for (let i = 0; i < 2; i++) await startConversation(b.url, admin.token, 'fake-echo');
    const failing = await gql(b.url, '{ conversation(id: "nope") { id } }', {}, admin.token).then(() => null, (error: Error) => error.message);
    expect(failing).toMatch(/NOT_FOUND|BAD_USER_INPUT/);

    const [textA, textB] = [await metrics(a), await metrics(b)];
    const started = { type: 'mutation', operation: 'startConversation', outcome: 'ok' };
    expect(sample(textA, 'evident_graphql_operations_total', started)).toBe(3);
    expect(sample(textB, 'evident_graphql_operations_total', started)).toBe(2);
    expect(sample(textA, 'evident_graphql_operations_total', { operation: 'register', outcome: 'ok' })).toBe(1);
    expect(sample(textB, 'evident_graphql_operations_total', { operation: 'register' })).toBeUndefined();
    expect(sample(textB, 'evident_graphql_operations_total', { type: 'query', operation: 'conversation', outcome: 'error' })).toBe(1);
    expect(sample(textA, 'evident_http_requests_total', { method: 'POST', route: '/graphql', status: '200' })).toBeGreaterThanOrEqual(5);
    expect(sample(textA, 'evident_event_store_appended_events_total', {})).toBeGreaterThanOrEqual(3);
    for (const text of [textA, textB]) expect(sample(text, 'evident_projection_lag_events', { projection: 'conversations' })).toBe(0);

    // A timestamp JavaScript accepts and PostgreSQL cannot store: the conversations projection stops on it.
    const log = await PostgresEventStore.open({ connectionString: database.url });
    const poisonId = uuidv7();
    const conversationId = uuidv7();
    try {
      await log.append(conversationStream(conversationId), [{
        id: poisonId, type: 'ConversationStarted', schemaVersion: 1,
        data: { conversationId, ownerId: admin.userId, title: 'poison', model: 'fake-echo', systemPrompt: null, params: {} },
        metadata: { actorId: null, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: '-271821-04-20T00:00:00.000Z' },
      }]);
    } finally {
      await log.close();
    }
    for (const server of servers) {
      const notReady = await eventually(async () => {
        const result = await readyz(server);
        return result.status === 503 && result.body.reasons?.some((r) => r.includes('projection conversations is stopped')) ? result : undefined;
      }, 'not ready: the conversations projection is stopped');
      expect(notReady.body).toMatchObject({ status: 'not ready' });
      expect(notReady.body.reasons!.join('\n')).toContain(poisonId);
      const text = await metrics(server);
      expect(sample(text, 'evident_projection_failed', { projection: 'conversations' })).toBe(1);
      expect(sample(text, 'evident_projection_lag_events', { projection: 'conversations' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'evident_projection_failed', { projection: 'users' })).toBe(0);
    }

    await gql(a.url, 'mutation($e: ID!) { parkProjectionEvent(name: "conversations", eventId: $e, reason: "e2e poison") { state } }',
      { e: poisonId }, admin.token);
    for (const server of servers) {
      await eventually(async () => ((await readyz(server)).status === 200 ? true : undefined), 'ready again after parking');
      const text = await metrics(server);
      expect(sample(text, 'evident_projection_failed', { projection: 'conversations' })).toBe(0);
      expect(sample(text, 'evident_projection_lag_events', { projection: 'conversations' })).toBe(0);
    }
    expect(sample(await metrics(a), 'evident_graphql_operations_total', { operation: 'parkProjectionEvent', outcome: 'ok' })).toBe(1);
  });
});
