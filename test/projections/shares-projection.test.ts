import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { conversationsProjection } from '../../src/projections/conversations-projection.ts';
import { sharesProjection } from '../../src/projections/shares-projection.ts';
import { openShare, ownedShares } from '../../src/projections/shares-queries.ts';

const MIGRATIONS = ['0002_users.sql', '0004_conversations.sql', '0008_reply_sources.sql', '0011_reply_provenance.sql', '0015_conversation_shares.sql'];
const HASH = (c: string) => c.repeat(64);

let db: PGlite;
let tx: SqlExecutor;
let position = 0n;

beforeAll(async () => {
  db = new PGlite();
  for (const name of MIGRATIONS) await db.exec(await readFile(new URL(`../../migrations/${name}`, import.meta.url), 'utf8'));
  tx = db as unknown as SqlExecutor;
});
beforeEach(async () => {
  await db.exec('TRUNCATE conversations, messages, conversation_shares');
  position = 0n;
});
afterAll(async () => {
  await db.close();
});

function record(type: string, data: Record<string, unknown>): RecordedEvent {
  position += 1n;
  return {
    id: `e${position}`, stream: 's', revision: position, position, type, schemaVersion: 1, data,
    metadata: { actorId: 'u1', correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, Number(position))).toISOString() },
  };
}
const apply = async (event: RecordedEvent) => {
  for (const projection of [conversationsProjection, sharesProjection]) {
    if (projection.eventTypes.includes(event.type)) await projection.handle(event, tx);
  }
};
const rows = async () => (await db.query('SELECT * FROM conversation_shares ORDER BY share_id')).rows;
const shared = (shareId: string, conversationId: string, ownerId: string, hash: string, expiresAt: string | null = null) =>
  record('ConversationShared', { shareId, conversationId, ownerId, tokenHash: hash, conversationRevision: 3, expiresAt });

describe('shares projection', () => {
  beforeEach(async () => {
    await apply(record('ConversationImported', { conversationId: 'c1', ownerId: 'u1', format: 'chatgpt', title: 'T', model: 'm', messageCount: 1 }));
    await apply(record('ConversationStarted', { conversationId: 'c2', ownerId: 'u2', title: 'T', model: 'm', systemPrompt: null, params: {} }));
  });

  it('keeps a share once however often its event is applied, and opens it by hash until it expires', async () => {
    const event = shared('s1', 'c1', 'u1', HASH('a'), '2025-06-01T00:00:00.000Z');
    await apply(event);
    const once = await rows();
    await apply(event);
    expect(await rows()).toEqual(once);
    expect(await openShare(tx, HASH('a'), new Date('2025-05-31T23:59:59Z'))).toMatchObject({ share_id: 's1', conversation_revision: '3' });
    expect(await openShare(tx, HASH('a'), new Date('2025-06-01T00:00:00Z'))).toBeNull();
    expect(await openShare(tx, HASH('b'), new Date('2025-01-02T00:00:00Z'))).toBeNull();
  });

  it('drops shares on revocation, on deletion or expiry of the conversation, and on erasure of the owner — only theirs', async () => {
    await apply(shared('s1', 'c1', 'u1', HASH('a')));
    await apply(shared('s2', 'c1', 'u1', HASH('b')));
    await apply(shared('s3', 'c2', 'u2', HASH('c')));
    await apply(record('ConversationShareRevoked', { shareId: 's1', conversationId: 'c1', ownerId: 'u1' }));
    expect((await ownedShares(tx, 'u1', 'c1')).map((s) => s.share_id)).toEqual(['s2']);
    await apply(record('ConversationDeleted', { conversationId: 'c1', ownerId: 'u1' }));
    expect((await rows()).map((r) => (r as { share_id: string }).share_id)).toEqual(['s3']);
    await apply(record('UserDataErased', { userId: 'u2' }));
    expect(await rows()).toEqual([]);
  });

  it('opens nothing whose conversation row is gone, even before the share rows are', async () => {
    await apply(shared('s1', 'c1', 'u1', HASH('a')));
    await db.exec("DELETE FROM conversations WHERE conversation_id = 'c1'");
    expect(await openShare(tx, HASH('a'), new Date('2025-01-02T00:00:00Z'))).toBeNull();
  });
});
