import { KEEP_FOREVER, RETENTION_KINDS, type HoldTarget, type RetentionPolicy } from '../domain/retention/retention.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the retention read models (retention-projection.ts) and the expiry candidates in the others. */

export interface LegalHoldRow {
  target: HoldTarget;
  target_id: string;
  hold_id: string;
  owner_id: string;
  reason: string;
  placed_by: string | null;
  placed_at: string;
  placed_seq: string;
}

export async function readRetentionPolicy(db: SqlExecutor): Promise<RetentionPolicy> {
  const { rows } = await db.query<{ kind: string; days: number | null }>('SELECT kind, days FROM retention_policy');
  const policy: Record<string, number | null> = { ...KEEP_FOREVER };
  for (const row of rows) if ((RETENTION_KINDS as readonly string[]).includes(row.kind)) policy[row.kind] = row.days;
  return policy as RetentionPolicy;
}

export const MAX_HOLDS_PAGE = 500;

/** Holds in force, oldest first; `ownerId` narrows to one person's. */
export async function listLegalHolds(db: SqlExecutor, options: { ownerId?: string; limit?: number } = {}): Promise<LegalHoldRow[]> {
  const limit = Math.min(Math.max(1, options.limit ?? MAX_HOLDS_PAGE), MAX_HOLDS_PAGE);
  const { rows } = options.ownerId === undefined
    ? await db.query<LegalHoldRow>('SELECT * FROM legal_holds ORDER BY placed_seq LIMIT $1', [limit])
    : await db.query<LegalHoldRow>('SELECT * FROM legal_holds WHERE owner_id = $1 ORDER BY placed_seq LIMIT $2', [options.ownerId, limit]);
  return rows.map((row) => ({ ...row, placed_seq: String(row.placed_seq), placed_at: new Date(row.placed_at).toISOString() }));
}

export interface ExpiryCandidate { id: string; ownerId: string; lastActivityAt: string }

const HELD = (idColumn: string, ownerColumn: string, conversationHolds: boolean) => `NOT EXISTS (
  SELECT 1 FROM legal_holds h WHERE (h.target = 'person' AND h.target_id = ${ownerColumn})
  ${conversationHolds ? `OR (h.target = 'conversation' AND h.target_id = ${idColumn})` : ''})`;

/** Conversations whose last activity is before `cutoff` and that no hold in the read model covers, oldest first. */
export async function conversationsIdleSince(db: SqlExecutor, cutoff: Date, limit: number): Promise<ExpiryCandidate[]> {
  const { rows } = await db.query<{ id: string; owner_id: string; at: string }>(
    `SELECT c.conversation_id AS id, c.owner_id, c.updated_at AS at FROM conversations c
     WHERE c.updated_at < $1::timestamptz AND ${HELD('c.conversation_id', 'c.owner_id', true)}
     ORDER BY c.updated_at, c.conversation_id LIMIT $2`, [cutoff.toISOString(), limit]);
  return rows.map((row) => ({ id: row.id, ownerId: row.owner_id, lastActivityAt: new Date(row.at).toISOString() }));
}

/** Documents whose last activity (upload, rename, ingestion) is before `cutoff`, not under a person hold, oldest first. */
export async function documentsIdleSince(db: SqlExecutor, cutoff: Date, limit: number): Promise<ExpiryCandidate[]> {
  const { rows } = await db.query<{ id: string; owner_id: string; at: string }>(
    `SELECT d.document_id AS id, d.owner_id, d.updated_at AS at FROM documents d
     WHERE d.updated_at < $1::timestamptz AND ${HELD('d.document_id', 'd.owner_id', false)}
     ORDER BY d.updated_at, d.document_id LIMIT $2`, [cutoff.toISOString(), limit]);
  return rows.map((row) => ({ id: row.id, ownerId: row.owner_id, lastActivityAt: new Date(row.at).toISOString() }));
}

/**
 * Sessions that ended (logged out, or ran out) before `cutoff`, of people under no person hold in the
 * read model, by session id after `afterSessionId` (keyset paging, so a sweep moves on past each batch).
 */
export async function loginRecordsEndedBefore(
  db: SqlExecutor, cutoff: Date, options: { afterSessionId?: string; limit: number },
): Promise<Array<{ userId: string; sessionId: string }>> {
  const { rows } = await db.query<{ user_id: string; session_id: string }>(
    `SELECT s.user_id, s.session_id FROM sessions s
     WHERE LEAST(s.ended_at, s.expires_at) < $1::timestamptz AND s.session_id > $2
       AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.target = 'person' AND h.target_id = s.user_id)
     ORDER BY s.session_id LIMIT $3`,
    [cutoff.toISOString(), options.afterSessionId ?? '', options.limit]);
  return rows.map((row) => ({ userId: row.user_id, sessionId: row.session_id }));
}

/** The documents of an owner still in the read model (an expired one is gone from it). */
export async function documentIdsOf(db: SqlExecutor, ownerId: string): Promise<string[]> {
  const { rows } = await db.query<{ document_id: string }>('SELECT document_id FROM documents WHERE owner_id = $1', [ownerId]);
  return rows.map((row) => row.document_id);
}
