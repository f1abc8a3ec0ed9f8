import { hashToken } from '../infra/passwords.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import type { Viewer } from './context.ts';

const MAX_TOKEN_LENGTH = 200;

/** The bearer token in an `Authorization` header (HTTP) or a graphql-ws connection parameter. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match && match[1]!.length <= MAX_TOKEN_LENGTH ? match[1]! : null;
}

/**
 * A session counts when it has not ended or expired, its user is active, and it started after the
 * user's last password change.
 */
export async function viewerForToken(readDb: ReadDb, token: string | null): Promise<Viewer | null> {
  if (!token) return null;
  const { rows } = await readDb.query<{ user_id: string; session_id: string; role: string | null; started_position: string; expires_at: string }>(
    `SELECT s.user_id, s.session_id, u.role, s.started_position, s.expires_at
       FROM sessions s JOIN users u ON u.user_id = s.user_id
      WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()
        AND u.status = 'active' AND s.started_position > u.credentials_position`,
    [hashToken(token)],
  );
  const row = rows[0];
  return row ? {
    userId: row.user_id, sessionId: row.session_id, role: row.role === 'admin' ? 'admin' : 'member',
    startedPosition: BigInt(row.started_position), expiresAt: new Date(row.expires_at),
  } : null;
}
