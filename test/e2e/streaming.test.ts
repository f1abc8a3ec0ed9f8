// Tests 1 and 2: a real server process and a real fake-provider process; a reply streamed to real
// clients over graphql-ws, graphql-sse and plain fetch SSE; then read back through a query. Once on the
// embedded default (SQLite + PGlite, in-memory pub/sub), once on PostgreSQL + Redis.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  conversationMessages, expectedReply, QUESTION, REDIS_URL, removeTempDirs, scaleOutSkipReason, sendAndFollow, signUp,
  SLOW_MODEL, startConversation, startFakeProvider, startServer, stopAllProcesses, subscribe, tempDir, warmUp,
  type ProviderProcess, type ServerProcess, type StreamedReply, type Transport,
} from './support.ts';

const TRANSPORTS: Transport[] = ['graphql-ws', 'graphql-sse', 'fetch-sse'];

/** What every transport must show for one streamed reply, and what the query must show afterwards. */
async function checkStreamedReply(server: ServerProcess, token: string, conversationId: string, streamed: StreamedReply) {
  const { sent, events, deltas, replyId, completed } = streamed;
  const text = expectedReply(QUESTION);
  expect(sent).toMatchObject({ role: 'USER', status: 'COMPLETE', content: QUESTION });

  // The user's message was announced, the reply started, streamed in at least three deltas, and completed.
  expect(events.filter((e) => e.kind === 'MESSAGE_ADDED').map((e) => e.messageId)).toEqual([sent.id]);
  const kinds = events.filter((e) => e.kind !== 'MESSAGE_ADDED').map((e) => e.kind);
  expect(kinds[0]).toBe('REPLY_STARTED');
  expect(kinds.at(-1)).toBe('REPLY_COMPLETED');
  expect(kinds.slice(1, -1).every((kind) => kind === 'DELTA')).toBe(true);
  expect(deltas.length).toBeGreaterThanOrEqual(3);
  expect(events.every((e) => e.conversationId === conversationId)).toBe(true);

  // Deltas are contiguous pieces of the final text.
  let offset = 0;
  for (const delta of deltas) {
    expect(delta.offset).toBe(offset);
    offset += delta.delta!.length;
  }
  expect(deltas.map((d) => d.delta).join('')).toBe(text);

  // The completion carries the stored message.
  expect(completed).toMatchObject({ kind: 'REPLY_COMPLETED', replyId, messageId: replyId });
  expect(completed.message).toMatchObject({ id: replyId, role: 'ASSISTANT', status: 'COMPLETE', content: text, inReplyTo: sent.id });

  // And a query sees the completed reply with usage and latency.
  const messages = await conversationMessages(server.url, token, conversationId);
  const user = messages.find((m) => m.id === sent.id);
  const reply = messages.find((m) => m.id === replyId);
  expect(user).toMatchObject({ role: 'USER', status: 'COMPLETE', content: QUESTION });
  expect(reply).toMatchObject({
    role: 'ASSISTANT', status: 'COMPLETE', content: text, inReplyTo: sent.id, model: SLOW_MODEL, finishReason: 'stop', errorCode: null,
  });
  expect(messages.indexOf(reply!)).toBe(messages.indexOf(user!) + 1);
  const usage = reply!.usage!;
  expect(usage.completionTokens).toBe(text.split(' ').length);
  expect(usage.promptTokens).toBeGreaterThan(0);
  expect(usage.totalTokens).toBe(usage.promptTokens + usage.completionTokens);
  expect(reply!.latencyMs).toEqual(expect.any(Number));
  expect(reply!.latencyMs).toBeGreaterThanOrEqual(reply!.timeToFirstTokenMs!);
  expect(reply!.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
  expect(reply!.completedAt).toEqual(expect.any(String));
}

interface Backend {
  name: string;
  /** Needs DATABASE_URL and REDIS_URL. */
  scaleOut: boolean;
  /** Server options beyond data dir and provider; may create resources. */
  prepare(): Promise<{ databaseUrl?: string; masterKey?: string; redisUrl?: string }>;
  cleanUp(): Promise<void>;
}

let database: TestDatabase | undefined;

const backends: Backend[] = [
  {
    name: 'embedded default (SQLite + PGlite, in-memory pub/sub)',
    scaleOut: false,
    prepare: async () => ({}),
    cleanUp: async () => {},
  },
  {
    name: 'PostgreSQL + Redis',
    scaleOut: true,
    prepare: async () => {
      database = await createTestDatabase();
      return { databaseUrl: database.url, masterKey: randomBytes(32).toString('base64'), redisUrl: REDIS_URL! };
    },
    cleanUp: async () => {
      await database?.drop();
    },
  },
];

for (const backend of backends) {
  const skip = backend.scaleOut ? scaleOutSkipReason(`e2e streaming on ${backend.name}`) : undefined;

  describe.skipIf(skip !== undefined)(`e2e: a streamed reply on ${backend.name}`, () => {
    let provider: ProviderProcess;
    let server: ServerProcess;
    let token: string;

    beforeAll(async () => {
      provider = await startFakeProvider();
      const storage = await backend.prepare();
      server = await startServer({ dataDir: tempDir(), providerUrl: provider.url, ...storage });
      expect(server.ready).toMatchObject({
        providers: 'openai-compatible',
        eventStore: storage.databaseUrl ? 'postgres' : 'sqlite',
        readDb: storage.databaseUrl ? 'postgres' : 'pglite',
        pubsub: storage.redisUrl ? 'redis' : 'memory',
      });
      ({ token } = await signUp(server.url));
    });

    afterAll(async () => {
      try {
        if (server) expect(await server.stop()).toEqual({ code: 0, signal: null });
        await provider?.stop();
      } finally {
        await stopAllProcesses();
        await backend.cleanUp();
        removeTempDirs();
      }
    });

    for (const transport of TRANSPORTS) {
      it(`streams deltas then the completion over ${transport}, and the query sees the reply with usage and latency`, async () => {
        const conversationId = await startConversation(server.url, token, SLOW_MODEL);
        const feed = await subscribe(transport, server, token, conversationId);
        try {
          await warmUp(feed, server.url, token, conversationId);
          const streamed = await sendAndFollow(feed, server.url, token, conversationId, QUESTION);
          await checkStreamedReply(server, token, conversationId, streamed);
        } finally {
          await feed.close();
        }
      });
    }

    it('refuses a subscription with a bad token with UNAUTHENTICATED, over graphql-ws and SSE alike', async () => {
      const conversationId = await startConversation(server.url, token, SLOW_MODEL);
      for (const transport of TRANSPORTS) {
        const feed = await subscribe(transport, server, 'not-a-valid-token', conversationId);
        try {
          await expect(feed.next(), transport).rejects.toThrow(/"code":"UNAUTHENTICATED"/);
        } finally {
          await feed.close();
        }
      }
    });
  });
}
