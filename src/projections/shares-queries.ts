import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the share links read model (shares-projection.ts). */
export interface ShareRow {
  share_id: string;
  conversation_id: string;
  owner_id: string;
  conversation_revision: string;
  expires_at: string | null;
  created_at: string;
}

const COLUMNS = 's.share_id, s.conversation_id, s.owner_id, s.conversation_revision::text AS conversation_revision, s.expires_at, s.created_at';

/**
 * The share a token's hash opens, or null: also when it expired, was revoked, or its conversation is
 * gone (the join covers a deletion the projection has not applied yet).
 */
export async function openShare(db: SqlExecutor, tokenHash: string, now: Date): Promise<ShareRow | null> {
  const { rows } = await db.query<ShareRow>(
    `SELECT ${COLUMNS} FROM conversation_shares s
     JOIN conversations c ON c.conversation_id = s.conversation_id AND c.owner_id = s.owner_id
     WHERE s.token_hash = $1 AND (s.expires_at IS NULL OR s.expires_at > $2::timestamptz)`,
    [tokenHash, now.toISOString()]);
  return rows[0] ?? null;
}

/** The owner's live shares of one conversation (expired ones included, flagged by their time), newest first. */
export async function ownedShares(db: SqlExecutor, ownerId: string, conversationId: string): Promise<ShareRow[]> {
  const { rows } = await db.query<ShareRow>(
    `SELECT ${COLUMNS} FROM conversation_shares s WHERE s.owner_id = $1 AND s.conversation_id = $2 ORDER BY s.created_at DESC, s.share_id DESC`,
    [ownerId, conversationId]);
  return rows;
}

/** Every live share of the owner (for their data export). */
export async function allOwnedShares(db: SqlExecutor, ownerId: string): Promise<ShareRow[]> {
  const { rows } = await db.query<ShareRow>(
    `SELECT ${COLUMNS} FROM conversation_shares s WHERE s.owner_id = $1 ORDER BY s.created_at, s.share_id`, [ownerId]);
  return rows;
}

export async function ownedShare(db: SqlExecutor, ownerId: string, shareId: string): Promise<ShareRow | null> {
  const { rows } = await db.query<ShareRow>(`SELECT ${COLUMNS} FROM conversation_shares s WHERE s.owner_id = $1 AND s.share_id = $2`,
    [ownerId, shareId]);
  return rows[0] ?? null;
}
