// The retention reactor on an injected clock (no sleeps: the clock is set, then a sweep is run):
// documents idle past the policy expire (rows, chunks, their own key and the blobs no other live
// document of the owner names), a person hold keeps theirs, and login records that ended before the
// cutoff are deleted except the held person's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ERASED } from '../../src/infra/personal-data/codec.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { RetentionReactor } from '../../src/projections/retention-reactor.ts';
import { eventually, newUser, startTestApp, type TestApp, type TestUser } from '../graphql/support.ts';

const DAY_MS = 86_400_000;

async function putBlob(app: App, ownerId: string, text: string) {
  return app.documentInfra.blobs.put(ownerId, (async function* () { yield Buffer.from(text, 'utf8'); })(), { maxBytes: 1_000_000 });
}

async function upload(app: App, ownerId: string, name: string, text: string): Promise<{ documentId: string; sha256: string }> {
  const blob = await putBlob(app, ownerId, text);
  const { documentId } = await app.documents.uploadDocument({ ownerId, name, mediaType: 'text/plain', ...blob }, app.commandContext(ownerId));
  return { documentId, sha256: blob.sha256 };
}

async function indexed(app: App, documents: ReadonlyArray<{ documentId: string }>): Promise<void> {
  await eventually(async () => {
    const { rows } = await app.readDb.query<{ n: number }>("SELECT count(*)::int AS n FROM documents WHERE status = 'indexed' AND document_id = ANY($1::text[])",
      [documents.map((d) => d.documentId)]);
    return rows[0]!.n === documents.length;
  }, 'ingestion of the documents', 60_000);
}

async function scrubbed(app: App): Promise<void> {
  const head = await app.store.headPosition();
  await eventually(async () => {
    const { rows } = await app.readDb.query<{ position: string }>("SELECT position FROM reactor_checkpoints WHERE name = 'erasure-scrub'");
    return rows[0] !== undefined && BigInt(rows[0].position) >= head;
  }, 'the scrub after the expiry', 60_000);
}

const count = async (app: App, sql: string, params: unknown[]) =>
  (await app.readDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

describe('RetentionReactor', () => {
  let t: TestApp;
  let admin: TestUser;
  let owner: TestUser;
  let heldPerson: TestUser;
  beforeAll(async () => {
    t = await startTestApp({ provider: false });
    admin = await newUser(t.yoga);
    owner = await newUser(t.yoga);
    heldPerson = await newUser(t.yoga);
  }, 60_000);
  afterAll(async () => t?.close());

  it('expires idle documents and their blobs, keeps the held and the newer, then login records but the held person\'s', { timeout: 180_000 }, async () => {
    const { app } = t;
    const asAdmin = () => app.commandContext(admin.userId);
    const shared = 'shared words of a file uploaded twice';
    const oldShared = await upload(app, owner.userId, 'old-shared.txt', shared);
    const oldAlone = await upload(app, owner.userId, 'old-alone.txt', 'words only the old document has');
    const heldDoc = await upload(app, heldPerson.userId, 'held.txt', 'words of a person under a legal hold');
    await indexed(app, [oldShared, oldAlone, heldDoc]);
    const boundary = Date.now();
    await eventually(async () => Date.now() > boundary + 1, 'the clock to move past the boundary', 5_000);
    const fresh = await upload(app, owner.userId, 'fresh.txt', shared); // the same bytes: the same blob
    await indexed(app, [fresh]);
    expect(fresh.sha256).toBe(oldShared.sha256);

    await app.retention.setPolicy({ documents: 30 }, asAdmin());
    await app.retention.placeHold({ target: 'person', targetId: heldPerson.userId, reason: 'Case 9' }, asAdmin());
    let now = new Date(boundary + 30 * DAY_MS);
    const reactor = new RetentionReactor({
      store: app.store, readDb: app.readDb, retention: app.retention, now: () => now,
      newContext: () => app.commandContext(null), logger: createLogger('silent', false),
    });
    // One day earlier nothing is due.
    now = new Date(boundary + 29 * DAY_MS);
    expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: 0 });
    now = new Date(boundary + 30 * DAY_MS);
    expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 2, loginRecords: 0 });
    await scrubbed(app);

    for (const { documentId } of [oldShared, oldAlone]) {
      expect(await count(app, 'documents WHERE document_id = $1', [documentId])).toBe(0);
      expect(await count(app, 'document_chunks WHERE document_id = $1', [documentId])).toBe(0);
      const [uploaded] = await app.store.readStream(`document-${documentId}`);
      expect((uploaded!.data as { name: string }).name).toBe(ERASED);
    }
    expect(await app.documentInfra.blobs.exists(owner.userId, oldAlone.sha256)).toBe(false);
    expect(await app.documentInfra.blobs.exists(owner.userId, oldShared.sha256)).toBe(true); // the fresh document names it
    for (const { documentId } of [fresh, heldDoc]) expect(await count(app, 'documents WHERE document_id = $1', [documentId])).toBe(1);
    const [freshUploaded] = await app.store.readStream(`document-${fresh.documentId}`);
    expect((freshUploaded!.data as { name: string }).name).toBe('fresh.txt');
    expect(await count(app, 'document_chunks WHERE document_id = $1', [fresh.documentId])).toBeGreaterThan(0);

    // Login records: every session ended long before; the held person's stay. One event per batch (of one here).
    const sessionsOf = (userId: string) => count(app, 'sessions WHERE user_id = $1', [userId]);
    expect(await sessionsOf(owner.userId)).toBeGreaterThan(0);
    const { rows: due } = await app.readDb.query<{ user_id: string; session_id: string }>(
      'SELECT user_id, session_id FROM sessions WHERE user_id <> $1 ORDER BY session_id', [heldPerson.userId]);
    expect(due.length).toBeGreaterThan(1);
    await app.retention.setPolicy({ documents: null, loginRecords: 30 }, asAdmin());
    now = new Date(Date.now() + 1000 * DAY_MS);
    const batched = new RetentionReactor({
      store: app.store, readDb: app.readDb, retention: app.retention, now: () => now, loginRecordsBatch: 1,
      newContext: () => app.commandContext(null), logger: createLogger('silent', false),
    });
    expect(await batched.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: due.length });
    const expired = await eventually(async () => {
      const events = await app.store.readAll({ filter: { eventTypes: ['LoginRecordsExpired'] } });
      return events.length === due.length && events;
    }, 'LoginRecordsExpired in $all');
    const endedBefore = new Date(now.getTime() - 30 * DAY_MS).toISOString();
    expect(expired.map((e) => e.data)).toEqual(due.map((row) => ({
      endedBefore, retentionDays: 30, sessions: [{ userId: row.user_id, sessionId: row.session_id }],
    })));
    expect(expired.map((e) => e.metadata.actorId)).toEqual(due.map(() => null));
    await eventually(async () => (await sessionsOf(owner.userId)) === 0, 'the sessions deleted');
    expect(await sessionsOf(admin.userId)).toBe(0);
    expect(await sessionsOf(heldPerson.userId)).toBeGreaterThan(0);
    // Nothing left to expire: no further event.
    expect(await reactor.sweep()).toEqual({ conversations: 0, documents: 0, loginRecords: 0 });
  });
});
