import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the users read model (tables of users-projection.ts). */

export interface UserRow {
  user_id: string;
  email: string | null;
  display_name: string | null;
  role: string | null;
  status: string;
  registered_at: string | Date;
}

export interface LiveSessionRow {
  user_id: string;
  session_id: string;
  role: string | null;
  started_position: string;
  expires_at: string;
}

export async function usersById(db: SqlExecutor, ids: readonly string[]): Promise<Map<string, UserRow>> {
  const { rows } = await db.query<UserRow>(
    'SELECT user_id, email, display_name, role, status, registered_at FROM users WHERE user_id = ANY($1)', [[...ids]]);
  return new Map(rows.map((row) => [row.user_id, row]));
}

/**
 * The session of a token hash if it counts: not ended or expired, its user active, and started after
 * the user's last password change.
 */
export async function liveSession(db: SqlExecutor, tokenHash: string): Promise<LiveSessionRow | null> {
  const { rows } = await db.query<LiveSessionRow>(
    `SELECT s.user_id, s.session_id, u.role, s.started_position, s.expires_at
       FROM sessions s JOIN users u ON u.user_id = s.user_id
      WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()
        AND u.status = 'active' AND s.started_position > u.credentials_position`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Sessions past their expiry that no event has ended yet, soonest expired first. */
export async function expiredOpenSessions(db: SqlExecutor, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ session_id: string }>(
    'SELECT session_id FROM sessions WHERE ended_at IS NULL AND expires_at <= now() ORDER BY expires_at, session_id LIMIT $1', [limit]);
  return rows.map((row) => row.session_id);
}
