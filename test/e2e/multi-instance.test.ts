// Test 3: server processes sharing one PostgreSQL database and one Redis. A subscriber on one instance
// sees the whole stream of a reply whose sendMessage went to another. The reply reactor runs on one
// instance only (a lease), so the stream crosses instances through Redis: checked in both directions,
// which makes sure the deltas themselves (not only MESSAGE_ADDED) cross, whichever instance generates.
// Then the paths only several processes have: a cancel sent to the instance that is not generating the
// reply, and the instance holding the reactor lease going away in the middle of a reply (kill -9, SIGTERM).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_LOCK_NAMESPACE } from '../../src/infra/read-db/postgres-read-db.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  conversationMessages, eventually, expectedReply, gql, LONG_QUESTION, QUESTION, REDIS_URL, removeTempDirs, replyUnderway,
  scaleOutSkipReason, sendAndFollow, sendMessage, signUp, SLOW_MODEL, startConversation, startFakeProvider, startServer, stopAllProcesses, subscribeWs,
  tempDir, warmUp, type ConversationEvent, type EventFeed, type Exit, type MessageView, type ProviderProcess, type ReplyUnderway,
  type ServerProcess,
} from './support.ts';

/** The reply to LONG_QUESTION is partial: it starts with what a subscriber saw, and stops short of the full text. */
function expectPartial(content: string | null | undefined, seen: string) {
  const full = expectedReply(LONG_QUESTION);
  expect(content!.startsWith(seen) && full.startsWith(content!) && content!.length < full.length,
    `partial text ${JSON.stringify(content)}`).toBe(true);
}

/** Whether some session holds the reply reactor's lease (a PostgreSQL advisory lock) in `databaseUrl`. */
async function reactorLeaseHeld(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ held: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()
            AND l.classid = $1::bigint::oid AND l.objid = (hashtext($2)::bigint & 4294967295)::oid AND l.objsubid = 2
       ) AS held`,
      [LEASE_LOCK_NAMESPACE, 'reactor:assistant-replies'],
    );
    return rows[0]!.held;
  } finally {
    await client.end();
  }
}

/** Reads until the reply ends (any REPLY_* kind but REPLY_STARTED). */
async function replyEnd(feed: EventFeed): Promise<ConversationEvent> {
  return (await feed.until((event) => event.kind.startsWith('REPLY_') && event.kind !== 'REPLY_STARTED')).at(-1)!;
}

const skip = scaleOutSkipReason('e2e several instances on PostgreSQL + Redis');

describe.skipIf(skip !== undefined)('e2e: server processes sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let provider: ProviderProcess;
  let shared: { databaseUrl: string; masterKey: string; redisUrl: string; providerUrl: string };
  /** Runs the reply reactor (holds its lease). */
  let holder: ServerProcess;
  /** Started after the holder took the lease: stands by. */
  let standby: ServerProcess;
  let token: string;
  const running = new Set<ServerProcess>();

  async function start(): Promise<ServerProcess> {
    const server = await startServer({ dataDir: tempDir(), ...shared });
    running.add(server);
    void server.exited.then(() => running.delete(server));
    return server;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    provider = await startFakeProvider();
    shared = { databaseUrl: database.url, masterKey: randomBytes(32).toString('base64'), redisUrl: REDIS_URL!, providerUrl: provider.url };
    holder = await start();
    // Let the first instance take the reactor lease before the second exists: then the tests know who generates.
    await eventually(async () => ((await reactorLeaseHeld(database.url)) ? true : undefined), 'the first instance holds the reply reactor lease');
    standby = await start();
    expect(holder.url).not.toBe(standby.url);
    // Registered and logged in on one instance; the token works on every instance (one log, one read model).
    ({ token } = await signUp(holder.url));
  });

  afterAll(async () => {
    try {
      for (const server of running) expect(await server.stop()).toEqual({ code: 0, signal: null });
      await provider?.stop();
    } finally {
      await stopAllProcesses();
      await database?.drop();
      removeTempDirs();
    }
  });

  for (const direction of ['to the reactor instance, followed on the other', 'to the other instance, followed on the reactor instance'] as const) {
    it(`a graphql-ws subscriber on one instance receives the deltas and completion of a reply sent ${direction}`, async () => {
      const [sendTo, listenOn] = direction.startsWith('to the reactor') ? [holder, standby] : [standby, holder];
      const conversationId = await startConversation(sendTo.url, token, SLOW_MODEL);
      const feed = await subscribeWs(listenOn.wsUrl, token, conversationId);
      try {
        await warmUp(feed, sendTo.url, token, conversationId);
        const { sent, events, deltas, replyId, completed } = await sendAndFollow(feed, sendTo.url, token, conversationId, QUESTION);
        const text = expectedReply(QUESTION);
        expect(events.filter((e) => e.kind === 'MESSAGE_ADDED').map((e) => e.messageId)).toEqual([sent.id]);
        expect(events.filter((e) => e.kind !== 'MESSAGE_ADDED').map((e) => e.kind))
          .toEqual(['REPLY_STARTED', ...deltas.map(() => 'DELTA'), 'REPLY_COMPLETED']);
        expect(deltas.length).toBeGreaterThanOrEqual(3);
        expect(deltas.map((d) => d.delta).join('')).toBe(text);
        // The subscriber's instance resolves the stored message from the shared read model.
        expect(completed.message).toMatchObject({ id: replyId, status: 'COMPLETE', content: text, inReplyTo: sent.id });

        for (const server of [holder, standby]) {
          const reply = (await conversationMessages(server.url, token, conversationId)).find((m) => m.id === replyId);
          expect(reply).toMatchObject({ status: 'COMPLETE', content: text, model: SLOW_MODEL });
          expect(reply!.usage!.totalTokens).toBe(reply!.usage!.promptTokens + reply!.usage!.completionTokens);
          expect(reply!.latencyMs).toEqual(expect.any(Number));
        }
      } finally {
        await feed.close();
      }
    });
  }

  it('cancelReply sent to the other instance stops the reply where it is generated: CANCELLED with the partial text', async () => {
    const { conversationId, feed, replyId, seen } = await replyUnderway(holder, standby, token);
    try {
      const { cancelReply } = await gql<{ cancelReply: MessageView }>(standby.url,
        'mutation ($c: ID!, $r: ID!) { cancelReply(conversationId: $c, replyId: $r) { id status content } }',
        { c: conversationId, r: replyId }, token);
      // The partial text proves the generating instance (which alone knows it) recorded the cancel;
      // the fallback of the instance that received the mutation would record ''.
      expect(cancelReply).toMatchObject({ id: replyId, status: 'CANCELLED' });
      expectPartial(cancelReply.content, seen);
      const end = await replyEnd(feed);
      expect(end).toMatchObject({ kind: 'REPLY_CANCELLED', replyId, message: { status: 'CANCELLED', content: cancelReply.content } });
    } finally {
      await feed.close();
    }
  });

  it('logout on one instance ends the graphql-ws subscription of that session on the other', async () => {
    const user = await signUp(holder.url);
    const conversationId = await startConversation(holder.url, user.token, 'fake-echo');
    const feed = await subscribeWs(standby.wsUrl, user.token, conversationId);
    try {
      await warmUp(feed, holder.url, user.token, conversationId);
      await gql(holder.url, 'mutation { logout }', {}, user.token);
      const ended = await feed.next().then(() => null, (error: unknown) => String(error));
      expect(ended).toMatch(/UNAUTHENTICATED/);
    } finally {
      await feed.close();
    }
  });

  it('a client of an instance that stops mid-reply resumes on another instance with its cursor and learns how the reply ended', async () => {
    const user = await signUp(holder.url);
    const third = await start(); // neither generating nor standing by for the reactor: it only serves this client
    const conversationId = await startConversation(third.url, user.token, SLOW_MODEL);
    const query = `subscription ($id: ID!, $after: String) {
      conversationEvents(conversationId: $id, after: $after) { kind replyId delta offset cursor message { status content } }
    }`;
    type Item = { kind: string; replyId: string | null; delta: string | null; offset: number | null; cursor: string; message: { status: string; content: string | null } | null };
    const follow = (wsUrl: string, after: string | null) => {
      const items: Item[] = [];
      const listeners = new Set<() => void>();
      let closed = false;
      const client = createWsClient({
        url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${user.token}` }, retryAttempts: 0,
        on: { closed: () => { closed = true; for (const l of listeners) l(); } },
      });
      client.subscribe({ query, variables: { id: conversationId, after } }, {
        next: (result) => { items.push((result.data as { conversationEvents: Item }).conversationEvents); for (const l of listeners) l(); },
        error: () => { closed = true; for (const l of listeners) l(); },
        complete: () => {},
      });
      const until = (match: (all: Item[]) => boolean) =>
        eventually(async () => (match(items) ? items : closed ? [] : undefined), 'subscription items', 90_000);
      return { items, until, isClosed: () => closed, dispose: () => client.dispose() };
    };
    // From the start of the conversation, so nothing is missed while the subscription goes live.
    const start0 = Buffer.from(JSON.stringify(['0', null, 0])).toString('base64url');
    const first = follow(third.wsUrl, start0);
    await sendMessage(third.url, user.token, conversationId, LONG_QUESTION);
    await first.until((all) => all.filter((i) => i.kind === 'DELTA').length >= 2);
    expect(await third.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await eventually(async () => (first.isClosed() ? true : undefined), 'the stopping instance to close the connection');
    await first.dispose();
    const cursor = first.items.at(-1)!.cursor;

    const second = follow(standby.wsUrl, cursor);
    try {
      const all = await second.until((items) => items.some((i) => i.kind.startsWith('REPLY_') && i.kind !== 'REPLY_STARTED'));
      const end = all.find((i) => i.kind.startsWith('REPLY_') && i.kind !== 'REPLY_STARTED')!;
      expect(end.kind).toBe('REPLY_COMPLETED');
      let text = '';
      for (const delta of [...first.items, ...all].filter((i) => i.kind === 'DELTA')) {
        expect(delta.offset).toBe(text.length);
        text += delta.delta;
      }
      expect(text).toBe(expectedReply(LONG_QUESTION));
      expect(end.message).toMatchObject({ status: 'COMPLETE', content: text });
    } finally {
      await second.dispose();
    }
  });

  it('kill -9 of the instance holding the reactor lease mid-reply: the other takes over and marks the reply INTERRUPTED', async () => {
    const { conversationId, feed, sent, replyId } = await replyUnderway(standby, standby, token);
    try {
      expect(await holder.kill9()).toEqual({ code: null, signal: 'SIGKILL' });
      const end = await replyEnd(feed);
      expect(end).toMatchObject({ kind: 'REPLY_INTERRUPTED', replyId, message: { status: 'INTERRUPTED', inReplyTo: sent.id } });
      const reply = await eventually(async () => {
        const found = (await conversationMessages(standby.url, token, conversationId)).find((m) => m.id === replyId);
        return found?.status === 'STREAMING' ? undefined : found;
      }, 'the reply leaves STREAMING in the read model');
      // The text kept is what the dead instance had stored while streaming (none, or a prefix of the reply): a kill -9 leaves no time to store more.
      expect(reply).toMatchObject({ status: 'INTERRUPTED' });
      const full = expectedReply(LONG_QUESTION);
      expect(full.startsWith(reply.content ?? '') && (reply.content ?? '').length < full.length, `partial text ${JSON.stringify(reply.content)}`).toBe(true);
      // The survivor logs the interruption after recording it, so the line can reach its stdout after the event reached the feed.
      const logged = await eventually(async () =>
        standby.logs().some((line) => line.msg.startsWith('reply marked interrupted') && line.replyId === replyId) || undefined,
      'the survivor logs the interruption');
      expect(logged).toBe(true);
    } finally {
      await feed.close();
    }
    // The survivor now runs the reactor: it generates the next reply.
    [holder, standby] = [standby, await start()];
    const conversationId2 = await startConversation(standby.url, token, SLOW_MODEL);
    const feed2 = await subscribeWs(standby.wsUrl, token, conversationId2);
    try {
      await warmUp(feed2, standby.url, token, conversationId2);
      const { completed } = await sendAndFollow(feed2, standby.url, token, conversationId2, QUESTION);
      expect(completed).toMatchObject({ kind: 'REPLY_COMPLETED', message: { status: 'COMPLETE', content: expectedReply(QUESTION) } });
    } finally {
      await feed2.close();
    }
  });

  describe('SIGTERM to the instance holding the reactor lease mid-reply', () => {
    let stopped: Exit;
    let followed: ReplyUnderway;

    beforeAll(async () => {
      followed = await replyUnderway(standby, standby, token);
      stopped = await holder.stop('SIGTERM');
    });

    afterAll(async () => {
      await followed?.feed.close();
    });

    it('records the reply as INTERRUPTED with its partial text, visible through the other instance', async () => {
      const reply = await eventually(async () => {
        const found = (await conversationMessages(standby.url, token, followed.conversationId)).find((m) => m.id === followed.replyId);
        return found?.status === 'STREAMING' ? undefined : found;
      }, 'the reply leaves STREAMING');
      expect(reply).toMatchObject({ status: 'INTERRUPTED', inReplyTo: followed.sent.id });
      expectPartial(reply.content, followed.seen);
    });

    it('exits 0, and subscribers on the other instance receive REPLY_INTERRUPTED', async () => {
      expect(stopped).toEqual({ code: 0, signal: null });
      const end = await replyEnd(followed.feed);
      expect(end).toMatchObject({ kind: 'REPLY_INTERRUPTED', replyId: followed.replyId, message: { status: 'INTERRUPTED' } });
      expectPartial(end.message?.content, followed.seen);
    });
  });
});
