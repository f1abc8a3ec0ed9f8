import type { SqlExecutor } from '../infra/read-db/port.ts';
import type { PageQuery } from './conversations-queries.ts';

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

/** Active admins other than `userId` (for the last-admin rule of role changes). */
export async function otherActiveAdmins(db: SqlExecutor, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number | string }>(
    `SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active' AND user_id <> $1`, [userId]);
  return Number(rows[0]?.n ?? 0);
}

export interface UserFilter {
  /** Part of an email address or display name, matched case-insensitively. */
  search: string | null;
  role: 'admin' | 'member' | null;
  status: 'active' | 'deactivated' | null;
}

/** `%`, `_` and the escape character itself match literally in a LIKE pattern. */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Users, oldest registration first, keyed by (registered_at, user_id). Only what the read model holds
 * is searched: erased people have no row, so their old address or name finds nothing.
 */
export async function userPage(db: SqlExecutor, filter: UserFilter, page: PageQuery<[registeredAt: string, userId: string]>): Promise<UserRow[]> {
  const params: unknown[] = [page.limit];
  const where = ['true'];
  if (filter.search) {
    params.push(likePattern(filter.search.toLowerCase()));
    where.push(`(lower(email) LIKE $${params.length} ESCAPE '\\' OR lower(display_name) LIKE $${params.length} ESCAPE '\\')`);
  }
  if (filter.role === 'admin') where.push(`role = 'admin'`);
  if (filter.role === 'member') where.push(`(role IS NULL OR role <> 'admin')`);
  if (filter.status) { params.push(filter.status); where.push(`status = $${params.length}`); }
  if (page.after) {
    params.push(...page.after);
    where.push(`(registered_at, user_id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  if (page.before) {
    params.push(...page.before);
    where.push(`(registered_at, user_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  const order = page.inverted ? 'DESC' : 'ASC';
  const { rows } = await db.query<UserRow>(
    `SELECT user_id, email, display_name, role, status, registered_at FROM users WHERE ${where.join(' AND ')}
     ORDER BY registered_at ${order}, user_id ${order} LIMIT $1`, params);
  return rows;
}

export interface SessionRow {
  session_id: string;
  user_id: string;
  created_at: string | Date;
  expires_at: string | Date;
  ended_at: string | Date | null;
  ended_reason: string | null;
  /** True while the session's token is accepted (see liveSession). */
  live: boolean;
  client_address: string | null;
  user_agent: string | null;
}

export const MAX_SESSIONS_LISTED = 100;

/**
 * One person's sessions, newest first (at most MAX_SESSIONS_LISTED; `liveOnly` keeps those whose
 * token is still accepted). Always scoped to the person.
 */
export async function sessionsOf(db: SqlExecutor, userId: string, liveOnly: boolean): Promise<SessionRow[]> {
  const live = `(s.ended_at IS NULL AND s.expires_at > now() AND u.status = 'active' AND s.started_position > u.credentials_position)`;
  const { rows } = await db.query<SessionRow>(
    `SELECT s.session_id, s.user_id, s.created_at, s.expires_at, s.ended_at, s.ended_reason, ${live} AS live, s.client_address, s.user_agent
       FROM sessions s JOIN users u ON u.user_id = s.user_id
      WHERE s.user_id = $1 ${liveOnly ? `AND ${live}` : ''}
      ORDER BY s.created_at DESC, s.session_id DESC LIMIT $2`, [userId, MAX_SESSIONS_LISTED]);
  return rows;
}
