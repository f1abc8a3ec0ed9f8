import type { SqlExecutor } from '../infra/read-db/port.ts';
import { storableTime, type AuditRecord } from './audit-projection.ts';

/** Reads of the audit read model (audit-projection.ts). */

/** An audit row as the API shows it; `subjectErased` is null when not yet looked up (live feed items). */
export interface AuditView extends Omit<AuditRecord, 'occurredAt'> {
  /** Null when the recorded time could not be stored (see storableTime). */
  occurredAt: string | null;
  subjectErased: boolean | null;
}

/** Every part optional; all given parts must hold (AND). Ranges are inclusive. */
export interface AuditFilter {
  types?: readonly string[] | null;
  streamPrefix?: string | null;
  actorId?: string | null;
  subjectId?: string | null;
  occurredFrom?: Date | null;
  occurredTo?: Date | null;
  fromPosition?: bigint | null;
  toPosition?: bigint | null;
}

export interface AuditPageQuery {
  /** Exclusive keyset bounds, in log positions. */
  after: bigint | null;
  before: bigint | null;
  limit: number;
  /** Relay `last`: read from the far end of the order. */
  inverted: boolean;
  newestFirst: boolean;
  /** Only events the person acted in or is the subject of (myActivity). */
  involving?: string | null;
}

interface AuditSqlRow {
  position: string;
  event_id: string;
  type: string;
  schema_version: number;
  stream: string;
  occurred_at: string | Date | null;
  actor_id: string | null;
  correlation_id: string | null;
  causation_id: string | null;
  request_id: string | null;
  subject_id: string | null;
  personal_fields: string[];
  summary: Record<string, unknown>;
  subject_erased: boolean;
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function toView(row: AuditSqlRow): AuditView {
  return {
    position: BigInt(row.position), eventId: row.event_id, type: row.type, schemaVersion: row.schema_version, stream: row.stream,
    occurredAt: row.occurred_at === null ? null : new Date(row.occurred_at).toISOString(), actorId: row.actor_id, correlationId: row.correlation_id,
    causationId: row.causation_id, requestId: row.request_id, subjectId: row.subject_id, personalFields: row.personal_fields ?? [],
    summary: row.summary ?? {}, subjectErased: row.subject_erased,
  };
}

const SELECT = `SELECT a.position::text AS position, a.event_id, a.type, a.schema_version, a.stream, a.occurred_at, a.actor_id,
  a.correlation_id, a.causation_id, a.request_id, a.subject_id, a.personal_fields, a.summary,
  EXISTS (SELECT 1 FROM audit_erased_subjects e WHERE e.subject_id = a.subject_id) AS subject_erased
  FROM audit_events a`;

/** One keyset page of audit rows matching the filter, in the page's order. */
export async function auditPage(db: SqlExecutor, filter: AuditFilter, page: AuditPageQuery): Promise<AuditView[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.types && filter.types.length > 0) add((p) => `a.type = ANY(${p}::text[])`, [...filter.types]);
  if (filter.streamPrefix) add((p) => `a.stream LIKE ${p} ESCAPE '\\'`, likePrefix(filter.streamPrefix));
  if (filter.actorId) add((p) => `a.actor_id = ${p}`, filter.actorId);
  if (filter.subjectId) add((p) => `a.subject_id = ${p}`, filter.subjectId);
  if (filter.occurredFrom) add((p) => `a.occurred_at >= ${p}::timestamptz`, filter.occurredFrom.toISOString());
  if (filter.occurredTo) add((p) => `a.occurred_at <= ${p}::timestamptz`, filter.occurredTo.toISOString());
  if (filter.fromPosition !== null && filter.fromPosition !== undefined) add((p) => `a.position >= ${p}::bigint`, filter.fromPosition.toString());
  if (filter.toPosition !== null && filter.toPosition !== undefined) add((p) => `a.position <= ${p}::bigint`, filter.toPosition.toString());
  if (page.involving) add((p) => `(a.actor_id = ${p} OR a.subject_id = ${p})`, page.involving);
  // "after" follows the listing's order: larger positions oldest-first, smaller ones newest-first.
  const [later, earlier] = page.newestFirst ? ['<', '>'] : ['>', '<'];
  if (page.after !== null) add((p) => `a.position ${later} ${p}::bigint`, page.after.toString());
  if (page.before !== null) add((p) => `a.position ${earlier} ${p}::bigint`, page.before.toString());
  const ascending = page.newestFirst === page.inverted;
  params.push(page.limit);
  const { rows } = await db.query<AuditSqlRow>(
    `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.position ${ascending ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
    params);
  return rows.map(toView);
}

/** Whether the person's data was erased. */
export async function subjectErased(db: SqlExecutor, subjectId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM audit_erased_subjects WHERE subject_id = $1', [subjectId]);
  return rows.length > 0;
}

/** The same filter, for items that do not come from the table (the live feed). */
export function matchesAuditFilter(record: Omit<AuditRecord, 'occurredAt'> & { occurredAt: string | null }, filter: AuditFilter): boolean {
  if (filter.types && filter.types.length > 0 && !filter.types.includes(record.type)) return false;
  if (filter.streamPrefix && !record.stream.startsWith(filter.streamPrefix)) return false;
  if (filter.actorId && record.actorId !== filter.actorId) return false;
  if (filter.subjectId && record.subjectId !== filter.subjectId) return false;
  const at = record.occurredAt === null || storableTime(record.occurredAt) === null ? Number.NaN : Date.parse(record.occurredAt);
  // As in SQL, an unstorable time matches no time range.
  if (filter.occurredFrom && !(at >= filter.occurredFrom.getTime())) return false;
  if (filter.occurredTo && !(at <= filter.occurredTo.getTime())) return false;
  if (filter.fromPosition !== null && filter.fromPosition !== undefined && record.position < filter.fromPosition) return false;
  if (filter.toPosition !== null && filter.toPosition !== undefined && record.position > filter.toPosition) return false;
  return true;
}

/** Every audit row involving a person (as actor or subject), oldest first: for their data export. */
export async function activityOf(db: SqlExecutor, userId: string): Promise<AuditView[]> {
  const { rows } = await db.query<AuditSqlRow>(`${SELECT} WHERE a.actor_id = $1 OR a.subject_id = $1 ORDER BY a.position`, [userId]);
  return rows.map(toView);
}
