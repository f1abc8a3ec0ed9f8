import { hashToken } from '../infra/passwords.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { liveSession } from '../projections/users-queries.ts';
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
  const row = await liveSession(readDb, hashToken(token));
  return row ? {
    userId: row.user_id, sessionId: row.session_id, role: row.role === 'admin' ? 'admin' : 'member',
    startedPosition: BigInt(row.started_position), expiresAt: new Date(row.expires_at),
  } : null;
}
