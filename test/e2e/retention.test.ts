// Retention end to end: a conversation past its retention is expired (an event), its own key is
// shredded and its rows deleted and scrubbed, so no file under DATA_DIR (or, on PostgreSQL, no row)
// holds its title or messages, while a newer conversation of the same person is intact and readable.
// A held conversation is not expired, the person cannot be erased while it is held, and lifting the
// hold lets expiry (and then erasure) proceed. Login records past their retention go with their
// session's own key: the user agent a login recorded reads as erased in the log and its key is in no
// file, while a newer session's and a held person's still read. The reactor runs on an injected clock: no sleeps.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ERASED, itemSubject } from '../../src/infra/personal-data/codec.ts';
import { RetentionReactor } from '../../src/projections/retention-reactor.ts';
import { createLogger } from '../../src/infra/logger.ts';
import {
  ENDPOINT, eventually, fails, getConversation, LOGIN, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser,
} from '../graphql/support.ts';
import { findOnDisk, leaks, wrappedKey } from '../projections/erasure-support.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';

const WAIT_MS = 30_000;
const DAY_MS = 86_400_000;
const SET_POLICY = 'mutation($input: RetentionPolicyInput!) { setRetentionPolicy(input: $input) { conversationsDays documentsDays loginRecordsDays } }';
const PLACE = 'mutation($input: LegalHoldInput!) { placeLegalHold(input: $input) { id target targetId ownerId reason placedBy } }';
const LIFT = 'mutation($input: LegalHoldInput!) { liftLegalHold(input: $input) }';
const HOLDS = '{ legalHolds { id target targetId ownerId reason } }';
const ERASE = 'mutation($id: ID!) { eraseUser(id: $id) }';

const mark = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

interface Seeded { id: string; title: string; message: string }

/** A conversation with a distinctive title and message, answered (the fake echoes the message). */
async function seedConversation(t: TestApp, person: TestUser, label: string): Promise<Seeded> {
  const title = mark(`${label}title`);
  const message = mark(`${label}msg`);
  const { id } = await startConversation(t.yoga, person.token, { title, model: 'fake-echo' });
  await ok(t.yoga, SEND, { conversationId: id, content: message }, person.token);
  await eventually(async () => {
    const conversation = await getConversation(t.yoga, person.token, id);
    return conversation.messages.edges.some((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE');
  }, `reply in ${label}`, WAIT_MS);
  return { id, title, message };
}

/** Waits until the erasure scrub has passed every expiry and erasure recorded so far. */
async function scrubbed(app: App): Promise<void> {
  const head = await app.store.headPosition();
  await eventually(async () => {
    const { rows } = await app.readDb.query<{ position: string }>("SELECT position FROM reactor_checkpoints WHERE name = 'erasure-scrub'");
    return rows[0] !== undefined && BigInt(rows[0].position) >= head;
  }, 'the scrub after the expiry', 60_000);
}

/** Logs the person in with a distinctive User-Agent; returns the session's token and id. */
async function loginWithAgent(t: TestApp, person: TestUser, userAgent: string): Promise<{ token: string; sessionId: string }> {
  const response = await t.yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ query: LOGIN, variables: { email: person.email, password: person.password } }),
  });
  const { data } = await response.json() as { data: { login: { token: string } } };
  const started = await eventually(async () => {
    const events = await t.app.store.readAll({ filter: { eventTypes: ['SessionStarted'] } });
    return events.find((e) => (e.data as { userAgent: unknown }).userAgent === userAgent);
  }, 'the SessionStarted with the user agent');
  return { token: data.login.token, sessionId: (started.data as { sessionId: string }).sessionId };
}

/** The SessionStarted of a session, read (and decrypted) through the app's store. */
async function sessionStarted(app: App, sessionId: string) {
  const [started] = await app.store.readStream(`session-${sessionId}`);
  return { data: started!.data as { userAgent: string; clientAddress: string | null }, erasedFields: started!.erasedFields ?? [] };
}

async function rowsOf(app: App, conversationId: string): Promise<number> {
  const { rows } = await app.readDb.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM conversations WHERE conversation_id = $1)::int
          + (SELECT count(*) FROM messages WHERE conversation_id = $1)::int AS n`, [conversationId]);
  return rows[0]!.n;
}

function backends() {
  return [
    { name: 'the embedded default', skip: undefined as string | undefined, postgres: false },
    { name: 'PostgreSQL', skip: postgresSkipReason('retention on PostgreSQL'), postgres: true },
  ];
}

for (const backend of backends()) {
  describe.skipIf(backend.skip !== undefined)(`retention and legal hold on ${backend.name}`, () => {
    let t: TestApp | undefined;
    let db: TestDatabase | undefined;
    afterEach(async () => {
      await t?.close();
      await db?.drop();
      t = undefined;
      db = undefined;
    });

    it('expires an old conversation completely, keeps the newer and the held one, and a hold blocks erasure until lifted', { timeout: 300_000 }, async () => {
      if (backend.postgres) db = await createTestDatabase();
      t = await startTestApp({ env: db ? { DATABASE_URL: db.url, MASTER_KEY: randomBytes(32).toString('base64') } : {} });
      const test = t;
      const admin = await newUser(test.yoga);
      const person = await newUser(test.yoga);
      const member = await newUser(test.yoga);

      const old = await seedConversation(test, person, 'old');
      const held = await seedConversation(test, person, 'held');
      const boundary = Date.now();
      await eventually(async () => Date.now() > boundary + 1, 'the clock to move past the boundary', 5_000);
      const fresh = await seedConversation(test, person, 'fresh');

      // Admin only, and hostile input is refused.
      expect((await fails(test.yoga, SET_POLICY, { input: { conversationsDays: 30 } }, member.token)).code).toBe('FORBIDDEN');
      expect((await fails(test.yoga, SET_POLICY, { input: { conversationsDays: 30 } })).code).toBe('UNAUTHENTICATED');
      expect((await fails(test.yoga, SET_POLICY, { input: { conversationsDays: 0 } }, admin.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(test.yoga, SET_POLICY, { input: { documentsDays: 1e9 } }, admin.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(test.yoga, PLACE, { input: { target: 'CONVERSATION', targetId: held.id, reason: 'a\nb' } }, admin.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(test.yoga, PLACE, { input: { target: 'CONVERSATION', targetId: 'nope', reason: 'x' } }, admin.token)).code).toBe('NOT_FOUND');
      expect((await fails(test.yoga, PLACE, { input: { target: 'CONVERSATION', targetId: held.id, reason: 'x' } }, member.token)).code).toBe('FORBIDDEN');
      expect((await fails(test.yoga, HOLDS, {}, member.token)).code).toBe('FORBIDDEN');

      expect(await ok(test.yoga, SET_POLICY, { input: { conversationsDays: 30 } }, admin.token))
        .toEqual({ setRetentionPolicy: { conversationsDays: 30, documentsDays: null, loginRecordsDays: null } });
      const placed = await ok<{ placeLegalHold: { id: string } }>(test.yoga, PLACE,
        { input: { target: 'CONVERSATION', targetId: held.id, reason: 'Case 2026-17' } }, admin.token);
      expect(placed.placeLegalHold).toMatchObject({ target: 'CONVERSATION', targetId: held.id, ownerId: person.userId, placedBy: admin.userId });
      expect((await ok<{ legalHolds: unknown[] }>(test.yoga, HOLDS, {}, admin.token)).legalHolds).toHaveLength(1);

      // The held conversation blocks the person's erasure.
      expect((await fails(test.yoga, ERASE, { id: person.userId }, admin.token)).code).toBe('LEGAL_HOLD');

      // 30 days after the boundary: the old and the held conversations are idle long enough, the fresh one is not.
      const oldSubject = itemSubject(person.userId, 'conversation', old.id);
      const keyRows = () => test.app.readDb.query('SELECT 1 FROM evident_subject_keys WHERE subject_id = $1', [oldSubject]);
      const oldKey = backend.postgres ? null : wrappedKey(test.dataDir, oldSubject); // the conversation has a key of its own
      if (backend.postgres) expect((await keyRows()).rows).toHaveLength(1);
      let now = new Date(boundary + 30 * DAY_MS);
      const reactor = new RetentionReactor({
        store: test.app.store, readDb: test.app.readDb, retention: test.app.retention, now: () => now,
        newContext: () => test.app.commandContext(null), logger: createLogger('silent', false),
      });
      expect(await reactor.sweep()).toEqual({ conversations: 1, documents: 0, loginRecords: 0 });
      // On PostgreSQL $all shows an append once every earlier position has committed: wait for it.
      const readAllOf = (types: string[], n: number) => eventually(async () => {
        const events = await test.app.store.readAll({ filter: { eventTypes: types } });
        return events.length >= n && events;
      }, `${n} ${types.join('/')} in $all`);
      const expiries = await readAllOf(['ConversationExpired'], 1);
      expect(expiries.map((e) => [e.stream, e.metadata.actorId])).toEqual([[`conversation-${old.id}`, null]]);
      expect(expiries[0]!.metadata.causationId).toBe((await test.app.store.readStream('retention-policy')).at(-1)!.id);
      await scrubbed(test.app);

      // Gone for everyone: the API, the read models, the key; the log reads as erased.
      expect((await fails(test.yoga, 'query($id: ID!) { conversation(id: $id) { id } }', { id: old.id }, person.token)).code).toBe('NOT_FOUND');
      expect(await rowsOf(test.app, old.id)).toBe(0);
      const oldEvents = (await test.app.store.readStream(`conversation-${old.id}`)).filter((e) => e.type === 'UserMessageSent');
      expect(oldEvents.map((e) => (e.data as { content: string }).content)).toEqual([ERASED]);
      if (backend.postgres) {
        expect((await keyRows()).rows).toEqual([]);
      } else {
        await test.app.readDb.exec('CHECKPOINT');
        expect(leaks(test.dataDir, [old.title, old.message, oldKey!])).toEqual({});
        // The same scan finds the conversations that are kept: it can fail.
        const kept = [held.title, held.message, fresh.title, fresh.message];
        expect([...findOnDisk(test.dataDir, kept)].filter(([, files]) => files.length === 0)).toEqual([]);
      }
      const freshView = await getConversation(test.yoga, person.token, fresh.id);
      expect(freshView.title).toBe(fresh.title);
      expect(freshView.messages.edges.map((e) => e.node.content)).toContain(fresh.message);
      expect((await getConversation(test.yoga, person.token, held.id)).title).toBe(held.title);

      // A sweep later on changes nothing while the hold is in place; lifting it lets expiry proceed.
      expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: 0 });
      expect(await ok(test.yoga, LIFT, { input: { target: 'CONVERSATION', targetId: held.id, reason: 'Case closed' } }, admin.token))
        .toEqual({ liftLegalHold: placed.placeLegalHold.id });
      expect((await fails(test.yoga, LIFT, { input: { target: 'CONVERSATION', targetId: held.id, reason: 'again' } }, admin.token)).code).toBe('NOT_FOUND');
      expect(await reactor.sweep()).toEqual({ conversations: 1, documents: 0, loginRecords: 0 });
      await scrubbed(test.app);
      expect(await rowsOf(test.app, held.id)).toBe(0);
      if (!backend.postgres) expect(leaks(test.dataDir, [held.title, held.message])).toEqual({});
      expect((await getConversation(test.yoga, person.token, fresh.id)).title).toBe(fresh.title);

      // The fresh one expires when its own time comes; then nothing holds the person and erasure goes through.
      now = new Date(Date.now() + 31 * DAY_MS);
      expect(await reactor.sweep()).toEqual({ conversations: 1, documents: 0, loginRecords: 0 });
      expect(await ok(test.yoga, ERASE, { id: person.userId }, admin.token)).toEqual({ eraseUser: person.userId });
      const log = await readAllOf(['LegalHoldPlaced', 'LegalHoldLifted', 'RetentionPolicySet'], 3);
      expect(log.map((e) => [e.type, e.metadata.actorId])).toEqual([
        ['RetentionPolicySet', admin.userId], ['LegalHoldPlaced', admin.userId], ['LegalHoldLifted', admin.userId],
      ]);
    });

    it('expires old login records with their session keys: the user agent is unreadable, newer and held sessions keep theirs', { timeout: 300_000 }, async () => {
      if (backend.postgres) db = await createTestDatabase();
      t = await startTestApp({ env: db ? { DATABASE_URL: db.url, MASTER_KEY: randomBytes(32).toString('base64') } : {} });
      const test = t;
      const admin = await newUser(test.yoga);
      const person = await newUser(test.yoga);
      const heldPerson = await newUser(test.yoga);
      const oldAgent = mark('OldAgent/');
      const heldAgent = mark('HeldAgent/');
      const freshAgent = mark('FreshAgent/');

      const old = await loginWithAgent(test, person, oldAgent);
      const held = await loginWithAgent(test, heldPerson, heldAgent);
      for (const session of [old, held]) expect(await ok(test.yoga, 'mutation { logout }', {}, session.token)).toEqual({ logout: true });
      await eventually(async () => {
        const { rows } = await test.app.readDb.query('SELECT 1 FROM sessions WHERE session_id = ANY($1::text[]) AND ended_at IS NOT NULL',
          [[old.sessionId, held.sessionId]]);
        return rows.length === 2;
      }, 'the logouts in the read model');
      const boundary = Date.now();
      await eventually(async () => Date.now() > boundary + 1, 'the clock to move past the boundary', 5_000);
      const fresh = await loginWithAgent(test, person, freshAgent);

      const oldSubject = itemSubject(person.userId, 'session', old.sessionId);
      const freshSubject = itemSubject(person.userId, 'session', fresh.sessionId);
      const keyRows = (subject: string) => test.app.readDb.query('SELECT 1 FROM evident_subject_keys WHERE subject_id = $1', [subject]);
      // Each session has a key of its own, and its user agent is sealed under it.
      const oldKey = backend.postgres ? null : wrappedKey(test.dataDir, oldSubject);
      const freshKey = backend.postgres ? null : wrappedKey(test.dataDir, freshSubject);
      if (backend.postgres) expect((await keyRows(oldSubject)).rows).toHaveLength(1);

      await ok(test.yoga, SET_POLICY, { input: { loginRecordsDays: 30 } }, admin.token);
      await ok(test.yoga, PLACE, { input: { target: 'PERSON', targetId: heldPerson.userId, reason: 'Case 2026-18' } }, admin.token);
      const reactor = new RetentionReactor({
        store: test.app.store, readDb: test.app.readDb, retention: test.app.retention, now: () => new Date(boundary + 30 * DAY_MS),
        newContext: () => test.app.commandContext(null), logger: createLogger('silent', false),
      });
      expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: 1 });
      const [expired] = await eventually(async () => {
        const events = await test.app.store.readAll({ filter: { eventTypes: ['LoginRecordsExpired'] } });
        return events.length > 0 && events;
      }, 'LoginRecordsExpired in $all');
      expect(expired!.data).toEqual({
        endedBefore: new Date(boundary).toISOString(), retentionDays: 30, sessions: [{ userId: person.userId, sessionId: old.sessionId }],
      });
      await scrubbed(test.app);

      // The old session: no row, its fields read as erased in the log, its key is gone.
      const sessionRows = async (sessionId: string) =>
        (await test.app.readDb.query('SELECT 1 FROM sessions WHERE session_id = $1', [sessionId])).rows.length;
      expect(await sessionRows(old.sessionId)).toBe(0);
      expect(await sessionStarted(test.app, old.sessionId)).toEqual({
        data: expect.objectContaining({ userAgent: ERASED, clientAddress: expect.toBeOneOf([ERASED, null]) }),
        erasedFields: expect.arrayContaining(['userAgent']),
      });
      // The newer session and the held person's are intact.
      expect((await sessionStarted(test.app, fresh.sessionId)).data.userAgent).toBe(freshAgent);
      expect((await sessionStarted(test.app, held.sessionId)).data.userAgent).toBe(heldAgent);
      expect(await sessionRows(fresh.sessionId)).toBe(1);
      expect(await sessionRows(held.sessionId)).toBe(1);
      if (backend.postgres) {
        expect((await keyRows(oldSubject)).rows).toEqual([]);
        expect((await keyRows(freshSubject)).rows).toHaveLength(1);
      } else {
        await test.app.readDb.exec('CHECKPOINT');
        expect(leaks(test.dataDir, [oldAgent, oldKey!])).toEqual({});
        // The same scan finds the fresh session's key: it can fail.
        expect(findOnDisk(test.dataDir, [freshKey!]).get(freshKey!)).not.toEqual([]);
      }
      // Nothing more is due.
      expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: 0 });
    });
  });
}
