import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import { parkingStream } from '../../src/domain/projection/parking.ts';
import { encodeFeedCursor } from '../../src/graphql/conversation-feed.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  eventually, fails, gql, MESSAGE_FIELDS, newUser, ok, openSse, readWholeLog, REGISTER, SEND, startConversation,
  startTestApp, uniqueEmail, WAIT_MS, type SseStream, type TestApp, type TestUser,
} from './support.ts';

const RESUMABLE_EVENTS = `subscription Events($conversationId: ID!, $after: String) {
  conversationEvents(conversationId: $conversationId, after: $after) {
    kind replyId delta offset cursor message { ${MESSAGE_FIELDS} }
  }
}`;

interface Item { kind: string; replyId: string | null; delta: string | null; offset: number | null; cursor: string; message: { content: string | null; status: string } | null }

/** Reads SSE frames until `until` holds for an item, or the stream reports an error / ends. */
async function readItems(stream: SseStream, until: (item: Item, all: Item[]) => boolean) {
  const items: Item[] = [];
  for (;;) {
    const frame = await stream.nextFrame(WAIT_MS * 2);
    if (!frame || frame.event === 'complete') return { items, errors: null, ended: true };
    const payload = JSON.parse(frame.data) as { data?: { conversationEvents?: Item }; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    if (payload.errors) return { items, errors: payload.errors, ended: false };
    const item = payload.data!.conversationEvents!;
    items.push(item);
    if (until(item, items)) return { items, errors: null, ended: false };
  }
}

async function waitForEnd(stream: SseStream) {
  const result = await readItems(stream, () => false);
  return result.errors?.[0]?.extensions?.code ?? (result.ended ? 'ENDED' : null);
}

describe('hardening (in process)', () => {
  let t: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    t = await startTestApp(process.env.DEBUG_LOG ? { logger: createLogger('error', false) } : {});
    admin = await newUser(t.yoga); // the first account is admin
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('hostile text', () => {
    const BAD = ['bad\u0000text', 'lone \uD800 surrogate'];

    it('refuses NUL and lone surrogates in every client string with BAD_USER_INPUT, appending nothing', async () => {
      const user = await newUser(t.yoga);
      const conversation = await startConversation(t.yoga, user.token, { title: 'fine' });
      const before = (await readWholeLog(t.app.store)).length;
      for (const value of BAD) {
        const cases: Array<[string, Record<string, unknown>, string | null]> = [
          [REGISTER, { email: uniqueEmail(), password: 'long enough pw', displayName: value }, null],
          ['mutation($t: String) { startConversation(input: { title: $t }) { id } }', { t: value }, user.token],
          ['mutation($t: String) { startConversation(input: { systemPrompt: $t }) { id } }', { t: value }, user.token],
          ['mutation($t: String) { startConversation(input: { model: $t }) { id } }', { t: value }, user.token],
          [SEND, { conversationId: conversation.id, content: value }, user.token],
          ['mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id } }', { id: conversation.id, t: value }, user.token],
        ];
        for (const [query, variables, token] of cases) {
          const error = await fails(t.yoga, query, variables, token);
          expect(error.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
        }
      }
      expect((await readWholeLog(t.app.store)).length).toBe(before);
      // Everything still works for everyone.
      await newUser(t.yoga);
      expect((await startConversation(t.yoga, user.token, { title: 'still fine' })).title).toBe('still fine');
    });

    it('a NUL already in the log never stops a projection: the text is stored made safe', async () => {
      const user = await newUser(t.yoga);
      const conversationId = uuidv7();
      const context = t.app.commandContext(user.userId);
      const { position } = await t.app.store.append(conversationStream(conversationId), [{
        id: uuidv7(), type: 'ConversationStarted', schemaVersion: 1,
        data: { conversationId, ownerId: user.userId, title: 'old\u0000log', model: 'fake-echo', systemPrompt: 'sys\uD800', params: {} },
        metadata: { actorId: user.userId, correlationId: context.correlationId, causationId: null, requestId: null, occurredAt: new Date().toISOString() },
      }]);
      expect(await t.app.projections.waitFor(position, { timeoutMs: WAIT_MS })).toBe(true);
      const { conversation } = await ok<{ conversation: { title: string; systemPrompt: string } }>(t.yoga,
        'query($id: ID!) { conversation(id: $id) { title systemPrompt } }', { id: conversationId }, user.token);
      expect(conversation).toEqual({ title: 'old\uFFFDlog', systemPrompt: 'sys\uFFFD' });
      expect(new Set((await t.app.projections.status()).map((s) => s.state))).toEqual(new Set(['running']));
    });
  });

  describe('a projection stopped at a poison event', () => {
    it('does not turn unrelated writes into NOT_FOUND; writes it affects answer flagged pending; an admin parks the event, recorded with the actor', async () => {
      const user = await newUser(t.yoga);
      // A timestamp JavaScript accepts and PostgreSQL cannot store: the conversations projection fails on it.
      const poisonId = uuidv7();
      const strayConversation = uuidv7();
      await t.app.store.append(conversationStream(strayConversation), [{
        id: poisonId, type: 'ConversationStarted', schemaVersion: 1,
        data: { conversationId: strayConversation, ownerId: user.userId, title: 'poison', model: 'fake-echo', systemPrompt: null, params: {} },
        metadata: { actorId: null, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: '-271821-04-20T00:00:00.000Z' },
      }]);
      await eventually(async () => (await t.app.projections.status()).find((s) => s.name === 'conversations')?.state === 'failed',
        'the conversations projection to stop at the poison event');

      // The users projection is unaffected: registering is not even pending.
      const registered = await gql<{ register: { id: string } }>(t.yoga, REGISTER, { email: uniqueEmail(), password: 'long enough pw', displayName: 'N' });
      expect(registered.errors).toBeUndefined();
      expect(JSON.parse(registered.raw).extensions?.pending).toBeUndefined();

      // A write the stopped projection would show: its result from the write side, flagged pending, never NOT_FOUND.
      const started = await gql<{ startConversation: { id: string; title: string; model: string } }>(t.yoga,
        'mutation { startConversation(input: { title: "while stopped" }) { id title model } }', {}, user.token);
      expect(started.errors).toBeUndefined();
      expect(started.data!.startConversation).toMatchObject({ title: 'while stopped', model: 'fake-echo' });
      expect(JSON.parse(started.raw).extensions).toMatchObject({ pending: true });

      const { projections } = await ok<{ projections: Array<{ name: string; state: string; failedEventId: string | null; lastError: string | null }> }>(
        t.yoga, '{ projections { name state failedEventId lastError } }', {}, admin.token);
      expect(projections.find((p) => p.name === 'conversations')).toMatchObject({ state: 'failed', failedEventId: poisonId });

      // Only an admin, and only the event it is stopped at.
      const park = 'mutation($e: ID!, $r: String!) { parkProjectionEvent(name: "conversations", eventId: $e, reason: $r) { state failedEventId } }';
      expect((await fails(t.yoga, park, { e: poisonId, r: 'bad timestamp' }, user.token)).code).toBe('FORBIDDEN');
      expect((await fails(t.yoga, park, { e: uuidv7(), r: 'wrong event' }, admin.token)).code).toBe('CONFLICT');
      expect((await fails(t.yoga, park, { e: poisonId, r: '   ' }, admin.token)).code).toBe('BAD_USER_INPUT');
      const parked = await ok<{ parkProjectionEvent: { state: string; failedEventId: string | null } }>(
        t.yoga, park, { e: poisonId, r: 'timestamp out of range' }, admin.token);
      expect(parked.parkProjectionEvent).toEqual({ state: 'running', failedEventId: null });

      const [record] = await t.app.store.readStream(parkingStream('conversations'));
      expect(record).toMatchObject({ type: 'ProjectionEventParked', data: { eventId: poisonId, reason: 'timestamp out of range' },
        metadata: { actorId: admin.userId } });
      // The conversation started while it was stopped is there now; the poison one is not.
      const list = await ok<{ conversations: { edges: Array<{ node: { id: string } }> } }>(t.yoga,
        '{ conversations(first: 100) { edges { node { id } } } }', {}, user.token);
      const ids = list.conversations.edges.map((e) => e.node.id);
      expect(ids).toContain(started.data!.startConversation.id);
      expect(ids).not.toContain(strayConversation);
    });
  });

  describe('live subscriptions end with their session', () => {
    async function subscribed(user: TestUser) {
      const conversation = await startConversation(t.yoga, user.token, { title: 'watched' });
      // From the start of the log: nothing published before the subscription went live is missed.
      const after = encodeFeedCursor({ position: 0n, replyId: null, offset: 0 });
      const stream = await openSse(t.yoga, RESUMABLE_EVENTS, { conversationId: conversation.id, after }, user.token);
      expect(stream.status).toBe(200);
      await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'hello' }, user.token);
      await readItems(stream, (item) => item.kind === 'MESSAGE_ADDED');
      return stream;
    }

    it('logout ends them with UNAUTHENTICATED', async () => {
      const user = await newUser(t.yoga);
      const stream = await subscribed(user);
      await ok(t.yoga, 'mutation { logout }', {}, user.token);
      expect(await waitForEnd(stream)).toBe('UNAUTHENTICATED');
    });

    it('a password change ends the old sessions, not the new one', async () => {
      const user = await newUser(t.yoga);
      const stream = await subscribed(user);
      const changed = await ok<{ changePassword: { token: string } }>(t.yoga,
        'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }',
        { c: user.password, n: 'a brand new password' }, user.token);
      expect(await waitForEnd(stream)).toBe('UNAUTHENTICATED');
      const fresh = await subscribed({ ...user, token: changed.changePassword.token });
      // The new session's subscription lives on: a further message still arrives on it.
      await fresh.close();
    });

    it('deactivation and erasure end them', async () => {
      const a = await newUser(t.yoga);
      const b = await newUser(t.yoga);
      const streamA = await subscribed(a);
      const streamB = await subscribed(b);
      await ok(t.yoga, 'mutation($id: ID!) { deactivateUser(id: $id) { id } }', { id: a.userId }, admin.token);
      await ok(t.yoga, 'mutation($id: ID!) { eraseUser(id: $id) }', { id: b.userId }, b.token);
      expect(await waitForEnd(streamA)).toBe('UNAUTHENTICATED');
      expect(await waitForEnd(streamB)).toBe('UNAUTHENTICATED');
    });
  });

  describe('resumable subscriptions', () => {
    it('a client that reconnects with its cursor gets the rest of the reply once, and its end', async () => {
      const user = await newUser(t.yoga);
      const conversation = await startConversation(t.yoga, user.token, { model: 'fake-slow-200' });
      const first = await openSse(t.yoga, RESUMABLE_EVENTS,
        { conversationId: conversation.id, after: encodeFeedCursor({ position: 0n, replyId: null, offset: 0 }) }, user.token);
      const content = 'one two three four five six seven eight nine ten eleven twelve';
      await ok(t.yoga, SEND, { conversationId: conversation.id, content }, user.token);
      const part = await readItems(first, (_item, all) => all.filter((i) => i.kind === 'DELTA').length >= 2);
      await first.close();
      const cursor = part.items.at(-1)!.cursor;

      const second = await openSse(t.yoga, RESUMABLE_EVENTS, { conversationId: conversation.id, after: cursor }, user.token);
      const rest = await readItems(second, (item) => item.kind === 'REPLY_COMPLETED');
      await second.close();

      const deltas = [...part.items, ...rest.items].filter((i) => i.kind === 'DELTA');
      let text = '';
      for (const delta of deltas) {
        expect(delta.offset, 'contiguous, no repeats').toBe(text.length);
        text += delta.delta;
      }
      const completed = rest.items.at(-1)!;
      expect(text).toBe(`You said: ${content}`);
      expect(completed.message).toMatchObject({ status: 'COMPLETE', content: text });
      expect(rest.items.filter((i) => i.kind === 'MESSAGE_ADDED' || i.kind === 'REPLY_STARTED')).toEqual([]);

      // Reconnecting later with the old cursor replays how the reply ended.
      const late = await openSse(t.yoga, RESUMABLE_EVENTS, { conversationId: conversation.id, after: cursor }, user.token);
      const replay = await readItems(late, (item) => item.kind === 'REPLY_COMPLETED');
      await late.close();
      expect(replay.items.map((i) => i.kind)).toEqual(['REPLY_COMPLETED']);
    });

    it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
      const user = await newUser(t.yoga);
      const conversation = await startConversation(t.yoga, user.token);
      const stream = await openSse(t.yoga, RESUMABLE_EVENTS, { conversationId: conversation.id, after: 'not-a-cursor' }, user.token);
      expect(await waitForEnd(stream)).toBe('BAD_USER_INPUT');
    });
  });
});

describe.skipIf(!process.env.DATABASE_URL)('hardening on PostgreSQL: a long transaction elsewhere in the cluster', () => {
  let t: TestApp;
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The write below is held back for certain (a transaction stays open): no need to wait long for pending.
    t = await startTestApp({ env: { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64'), READ_YOUR_WRITES_TIMEOUT_MS: '2000' } });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  it('turns a write into a pending result, never NOT_FOUND, and the write is there exactly once afterwards', async () => {
    const user = await newUser(t.yoga);
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT txid_current()');
      const started = await gql<{ startConversation: { id: string; title: string } }>(t.yoga,
        'mutation { startConversation(input: { title: "behind a long transaction" }) { id title } }', {}, user.token);
      expect(started.errors).toBeUndefined();
      expect(started.data!.startConversation.title).toBe('behind a long transaction');
      expect(JSON.parse(started.raw).extensions).toMatchObject({ pending: true });
      await blocker.query('COMMIT');
    } finally {
      await blocker.end();
    }
    const ids = await eventually(async () => {
      const list = await ok<{ conversations: { edges: Array<{ node: { id: string; title: string } }> } }>(t.yoga,
        '{ conversations(first: 100) { edges { node { id title } } } }', {}, user.token);
      const found = list.conversations.edges.filter((e) => e.node.title === 'behind a long transaction');
      return found.length > 0 ? found.map((e) => e.node.id) : null;
    }, 'the conversation to show once the transaction ended');
    expect(ids).toEqual([expect.any(String)]);
  });
});
