import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the usage read model (usage-projection.ts). */

export interface UsageRow {
  user_id: string;
  day: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** At most this many days in one usage query. */
export const MAX_USAGE_DAYS = 366;

/** Rows per person, day and model from `from` to `to` (UTC days, both included); every person's when `userId` is null. */
export async function usageRows(db: SqlExecutor, range: { userId: string | null; from: string; to: string }): Promise<UsageRow[]> {
  const { rows } = await db.query<UsageRow>(
    `SELECT user_id, to_char(day, 'YYYY-MM-DD') AS day, model, requests, prompt_tokens::float8 AS prompt_tokens,
       completion_tokens::float8 AS completion_tokens, total_tokens::float8 AS total_tokens
       FROM usage_daily WHERE day BETWEEN $1::date AND $2::date AND ($3::text IS NULL OR user_id = $3)
      ORDER BY day, user_id, model LIMIT 100000`, [range.from, range.to, range.userId]);
  return rows;
}

/** Tokens the person's replies used on the UTC day `day`. */
export async function tokensUsedOn(db: SqlExecutor, userId: string, day: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT COALESCE(sum(total_tokens), 0)::float8 AS n FROM usage_daily WHERE user_id = $1 AND day = $2::date', [userId, day]);
  return Number(rows[0]?.n ?? 0);
}

/** The person's daily token quota; null when they have none. */
export async function tokenQuotaOf(db: SqlExecutor, userId: string): Promise<number | null> {
  const { rows } = await db.query<{ n: number }>('SELECT tokens_per_day::float8 AS n FROM token_quotas WHERE user_id = $1', [userId]);
  return rows[0] ? Number(rows[0].n) : null;
}
