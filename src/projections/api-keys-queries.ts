import type { ApiKeyScope } from '../domain/api-key/api-key.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the API keys read model (api-keys-projection.ts) and of the last-use marks. */

export interface ApiKeyRow {
  key_id: string;
  owner_id: string;
  name: string | null;
  scopes: ApiKeyScope[];
  display_prefix: string;
  created_at: string | Date;
  revoked_at: string | Date | null;
  last_used_at: string | Date | null;
}

export interface LiveApiKeyRow {
  key_id: string;
  owner_id: string;
  scopes: ApiKeyScope[];
  role: string | null;
  created_position: string;
}

const COLUMNS = `k.key_id, k.owner_id, k.name, k.scopes, k.display_prefix, k.created_at, k.revoked_at, l.last_used_at
  FROM api_keys k LEFT JOIN api_key_last_use l ON l.key_id = k.key_id`;

/** The key of a token hash if it counts: not revoked, and its owner active (a deactivated or erased owner's keys do nothing). */
export async function liveApiKey(db: SqlExecutor, tokenHash: string): Promise<LiveApiKeyRow | null> {
  const { rows } = await db.query<LiveApiKeyRow>(
    `SELECT k.key_id, k.owner_id, k.scopes, u.role, k.created_position
       FROM api_keys k JOIN users u ON u.user_id = k.owner_id
      WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND u.status = 'active'`, [tokenHash]);
  return rows[0] ?? null;
}

/** The owner's keys, newest first; revoked ones only when asked for. */
export async function apiKeysOf(db: SqlExecutor, ownerId: string, includeRevoked: boolean): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${COLUMNS} WHERE k.owner_id = $1 ${includeRevoked ? '' : 'AND k.revoked_at IS NULL'} ORDER BY k.created_at DESC, k.key_id DESC`, [ownerId]);
  return rows;
}

export async function apiKeyById(db: SqlExecutor, keyId: string): Promise<ApiKeyRow | null> {
  const { rows } = await db.query<ApiKeyRow>(`SELECT ${COLUMNS} WHERE k.key_id = $1`, [keyId]);
  return rows[0] ?? null;
}

export async function activeApiKeyCount(db: SqlExecutor, ownerId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE owner_id = $1 AND revoked_at IS NULL', [ownerId]);
  return rows[0]?.n ?? 0;
}

/** Records a use of the key now, unless one within the last minute is already recorded (any instance). */
export async function markApiKeyUsed(db: SqlExecutor, keyId: string): Promise<void> {
  await db.query(
    `INSERT INTO api_key_last_use (key_id, last_used_at) VALUES ($1, now())
     ON CONFLICT (key_id) DO UPDATE SET last_used_at = excluded.last_used_at
     WHERE api_key_last_use.last_used_at < excluded.last_used_at - interval '1 minute'`, [keyId]);
}
