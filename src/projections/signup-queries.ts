import { DEFAULT_SIGNUP_MODE, type SignupMode } from '../domain/account/signup-policy.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import type { PageQuery } from './conversations-queries.ts';

/** Reads of the sign-up read model (tables of signup-projection.ts). */

export interface SignupPolicyRow {
  mode: SignupMode;
  updated_by: string | null;
  updated_at: string | Date | null;
}

export interface InviteRow {
  invite_id: string;
  created_by: string | null;
  created_at: string | Date;
  created_seq: string;
  expires_at: string | Date | null;
  max_uses: number | null;
  uses: number;
  revoked_at: string | Date | null;
}

export async function signupPolicy(db: SqlExecutor): Promise<SignupPolicyRow> {
  const { rows } = await db.query<SignupPolicyRow>('SELECT mode, updated_by, updated_at FROM signup_policy WHERE id = 1');
  return rows[0] ?? { mode: DEFAULT_SIGNUP_MODE, updated_by: null, updated_at: null };
}

const INVITE_COLUMNS = 'invite_id, created_by, created_at, created_seq::text AS created_seq, expires_at, max_uses, uses, revoked_at';

export async function inviteById(db: SqlExecutor, inviteId: string): Promise<InviteRow | null> {
  const { rows } = await db.query<InviteRow>(`SELECT ${INVITE_COLUMNS} FROM invites WHERE invite_id = $1`, [inviteId]);
  return rows[0] ?? null;
}

/** Invites, newest first, keyed by the position that created them; `usableOnly` leaves out revoked, expired and used-up ones. */
export async function invitePage(db: SqlExecutor, usableOnly: boolean, page: PageQuery<string>): Promise<InviteRow[]> {
  const params: unknown[] = [page.limit];
  const where = ['true'];
  if (usableOnly) where.push('revoked_at IS NULL', '(expires_at IS NULL OR expires_at > now())', '(max_uses IS NULL OR uses < max_uses)');
  if (page.after) { params.push(page.after); where.push(`created_seq < $${params.length}::bigint`); }
  if (page.before) { params.push(page.before); where.push(`created_seq > $${params.length}::bigint`); }
  const order = page.inverted ? 'ASC' : 'DESC';
  const { rows } = await db.query<InviteRow>(
    `SELECT ${INVITE_COLUMNS} FROM invites WHERE ${where.join(' AND ')} ORDER BY created_seq ${order} LIMIT $1`, params);
  return rows;
}
