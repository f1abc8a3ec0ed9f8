import { currentSchemaVersions } from '../domain/event-versions.ts';
import { personalDataRules } from '../domain/personal-data.ts';
import type { RecordedEvent } from '../infra/event-store/port.ts';
import type { Projection } from './projection.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';

/** One audit row: the envelope of an event, who it is about, and facts that are never personal. */
export interface AuditRecord {
  position: bigint;
  eventId: string;
  type: string;
  schemaVersion: number;
  stream: string;
  occurredAt: string;
  actorId: string | null;
  correlationId: string | null;
  causationId: string | null;
  requestId: string | null;
  subjectId: string | null;
  personalFields: string[];
  summary: Record<string, unknown>;
}

const MAX_ID_LENGTH = 200;
const MAX_LIST = 50;
/** Short enumerated values worth showing; free text (reasons typed by people, error messages) never is. */
const ENUM_FIELDS = new Set(['role', 'status', 'stage', 'model', 'mediaType', 'finishReason', 'errorCode', 'projection', 'eventType',
  'embeddingModel', 'kind', 'action', 'mode', 'format', 'provider']);
const ENUM_VALUE = /^[A-Za-z0-9][\w.:/@+-]{0,99}$/;
/** Fields named like enums whose values are typed by a person in some event types. */
const FREE_TEXT: Readonly<Record<string, readonly string[]>> = {
  UserDeactivated: ['reason'],
  ProjectionEventParked: ['reason'],
};
/** `reason` is an enumerated value in these types (login failures, session ends, ingestion failures). */
const ENUM_REASON_TYPES = new Set(['LoginFailed', 'SessionEnded', 'DocumentIngestionFailed', 'ApiKeyRevoked']);

const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH && ENUM_VALUE.test(value);

/** The person an event is about: the data subject of its personal fields, else the userId or ownerId it names. */
export function auditSubject(type: string, data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const record = data as Record<string, unknown>;
  const field = personalDataRules[type]?.subjectField;
  for (const candidate of field ? [record[field]] : [record.userId, record.ownerId]) {
    if (isId(candidate)) return candidate;
  }
  return null;
}

/**
 * What the audit read model keeps of an event's data: ids, id lists, numbers, booleans, and short
 * enumerated values of known fields. Never a personal field, never free text, never a hash.
 */
export function auditSummary(type: string, data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
  const personal = new Set(personalDataRules[type]?.fields ?? []);
  const freeText = new Set(FREE_TEXT[type] ?? []);
  const summary: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (personal.has(key) || freeText.has(key)) continue;
    if (typeof value === 'number' && Number.isFinite(value)) summary[key] = value;
    else if (typeof value === 'boolean') summary[key] = value;
    else if (key.endsWith('Id') && isId(value)) summary[key] = value;
    else if (key.endsWith('Ids') && Array.isArray(value)) summary[key] = value.filter(isId).slice(0, MAX_LIST);
    else if ((ENUM_FIELDS.has(key) || (key === 'reason' && ENUM_REASON_TYPES.has(type))) && typeof value === 'string' && ENUM_VALUE.test(value)) {
      summary[key] = value;
    }
  }
  return summary;
}

/**
 * The time as the database can store it, or null: the log may hold a time JavaScript reads and
 * PostgreSQL cannot (before 4713 BC), and a corrupt event must not stop the audit trail.
 */
export function storableTime(iso: string): string | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const year = new Date(ms).getUTCFullYear();
  return year < -4712 || year > 294275 ? null : new Date(ms).toISOString();
}

const idOrNull = (value: unknown) => (value === null || value === undefined ? null : String(value));

/** The audit row of an event (pure: the projection and the live feed share it). */
export function auditRecord(event: RecordedEvent): AuditRecord {
  const data = typeof event.data === 'object' && event.data !== null ? event.data as Record<string, unknown> : {};
  return {
    position: event.position,
    eventId: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    stream: event.stream,
    occurredAt: event.metadata.occurredAt,
    actorId: idOrNull(event.metadata.actorId),
    correlationId: idOrNull(event.metadata.correlationId),
    causationId: idOrNull(event.metadata.causationId),
    requestId: idOrNull(event.metadata.requestId),
    subjectId: auditSubject(event.type, data),
    personalFields: (personalDataRules[event.type]?.fields ?? []).filter((field) => field in data),
    summary: auditSummary(event.type, data),
  };
}

/**
 * The audit read model: every event the code knows (so new event types join by being declared in
 * src/domain/event-versions.ts), one immutable row each, plus the set of erased people.
 */
export const auditProjection: Projection = {
  name: 'audit',
  tables: ['audit_events', 'audit_erased_subjects'],
  eventTypes: Object.keys(currentSchemaVersions),
  async handle(event, tx) {
    const row = auditRecord(event);
    await tx.query(
      `INSERT INTO audit_events (position, event_id, type, schema_version, stream, occurred_at, actor_id, correlation_id, causation_id,
         request_id, subject_id, personal_fields, summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb)
       ON CONFLICT (position) DO NOTHING`,
      [row.position.toString(), row.eventId, row.type, row.schemaVersion, row.stream, storableTime(row.occurredAt), row.actorId, row.correlationId,
        row.causationId, row.requestId, row.subjectId, JSON.stringify(row.personalFields), JSON.stringify(row.summary)],
    );
    if (event.type === ERASURE_EVENT && row.subjectId) {
      await tx.query(
        `INSERT INTO audit_erased_subjects (subject_id, erased_position) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING`,
        [row.subjectId, row.position.toString()]);
    }
  },
};
