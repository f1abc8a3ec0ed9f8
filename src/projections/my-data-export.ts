import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { activityOf, type AuditView } from './audit-queries.ts';
import { allOwnedShares } from './shares-queries.ts';

/**
 * Everything the platform holds about one person, decrypted, as one JSON document (GDPR access and
 * portability): read from the read models they own, plus their own events from the log. Every read
 * is scoped to the person; events about someone else (an admin's act on another account) appear
 * only as their audit summary, never with that person's data.
 */
export const EXPORT_FORMAT = 'evident-personal-data/1';

/** Secrets that are the person's but that nobody needs to see: recorded, but withheld from the export. */
const WITHHELD: Readonly<Record<string, readonly string[]>> = {
  UserPasswordSet: ['passwordHash'],
  SessionStarted: ['tokenHash'],
  PasswordResetIssued: ['tokenHash'],
  InviteCreated: ['codeHash'],
  ConversationShared: ['tokenHash'],
  ApiKeyCreated: ['tokenHash'],
};
const WITHHELD_MARK = '[withheld: a secret hash]';

const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value));

async function rows(db: SqlExecutor, sql: string, params: unknown[]): Promise<Array<Record<string, unknown>>> {
  return (await db.query<Record<string, unknown>>(sql, params)).rows;
}

export async function exportPersonalData(deps: { db: SqlExecutor; store: EventStore }, userId: string, now: Date): Promise<Record<string, unknown>> {
  const { db } = deps;
  const [account] = await rows(db, `SELECT user_id AS "id", email, display_name AS "displayName", role, status,
    deactivation_reason AS "deactivationReason", registered_at AS "registeredAt", updated_at AS "updatedAt" FROM users WHERE user_id = $1`, [userId]);
  const sessions = await rows(db, `SELECT session_id AS "sessionId", created_at AS "startedAt", expires_at AS "expiresAt", ended_at AS "endedAt",
    ended_reason AS "endedReason", client_address AS "clientAddress", user_agent AS "userAgent"
    FROM sessions WHERE user_id = $1 ORDER BY created_at, session_id`, [userId]);
  const apiKeys = await rows(db, `SELECT k.key_id AS "id", k.name, k.scopes, k.display_prefix AS "prefix", k.created_at AS "createdAt",
    k.revoked_at AS "revokedAt", l.last_used_at AS "lastUsedAt" FROM api_keys k LEFT JOIN api_key_last_use l ON l.key_id = k.key_id
    WHERE k.owner_id = $1 ORDER BY k.created_at, k.key_id`, [userId]);
  const usage = await rows(db, `SELECT to_char(day, 'YYYY-MM-DD') AS "day", model, requests, prompt_tokens::float8 AS "promptTokens",
    completion_tokens::float8 AS "completionTokens", total_tokens::float8 AS "totalTokens" FROM usage_daily WHERE user_id = $1 ORDER BY day, model`, [userId]);
  const conversations = await rows(db, `SELECT conversation_id AS "id", title, model, system_prompt AS "systemPrompt", params AS "parameters",
    archived, pinned, tags, active_leaf_id AS "activeLeafId", knowledge_base_ids AS "knowledgeBaseIds", document_ids AS "documentIds",
    created_at AS "createdAt", updated_at AS "updatedAt"
    FROM conversations WHERE owner_id = $1 ORDER BY created_at, conversation_id`, [userId]);
  const messages = await rows(db, `SELECT message_id AS "id", conversation_id AS "conversationId", role, content, status, in_reply_to AS "inReplyTo",
    parent_id AS "parentId", edited_message_id AS "editOf",
    model, params AS "parameters", usage, time_to_first_token_ms AS "timeToFirstTokenMs", latency_ms AS "latencyMs",
    finish_reason AS "finishReason", error_code AS "errorCode", error_message AS "errorMessage", sources, created_at AS "createdAt",
    completed_at AS "completedAt" FROM messages WHERE owner_id = $1 ORDER BY seq`, [userId]);
  const knowledgeBases = await rows(db, `SELECT k.knowledge_base_id AS "id", k.name, k.description, k.created_at AS "createdAt",
    k.updated_at AS "updatedAt", COALESCE((SELECT json_agg(m.document_id ORDER BY m.added_seq) FROM knowledge_base_documents m
      WHERE m.knowledge_base_id = k.knowledge_base_id AND m.owner_id = k.owner_id), '[]'::json) AS "documentIds"
    FROM knowledge_bases k WHERE k.owner_id = $1 ORDER BY k.created_seq`, [userId]);
  const documents = await rows(db, `SELECT document_id AS "id", name, media_type AS "mediaType", size::float8 AS size, sha256,
    current_version AS "currentVersion", status, pages, characters::float8 AS characters, chunk_count AS "chunkCount",
    failure_stage AS "failureStage", failure_reason AS "failureReason", failure_message AS "failureMessage",
    created_at AS "createdAt", updated_at AS "updatedAt" FROM documents WHERE owner_id = $1 ORDER BY created_seq`, [userId]);
  const chunks = await rows(db, `SELECT chunk_id AS "id", document_id AS "documentId", version, chunk_index AS "index", page,
    heading_path AS "headingPath", text FROM document_chunks WHERE owner_id = $1 ORDER BY document_id, version, chunk_index`, [userId]);

  const shares = (await allOwnedShares(db, userId)).map((s) => ({
    id: s.share_id, conversationId: s.conversation_id, createdAt: s.created_at, expiresAt: s.expires_at,
  }));

  const activity = await activityOf(db, userId);
  const events = await ownEvents(deps.store, userId, activity);

  return {
    format: EXPORT_FORMAT,
    exportedAt: now.toISOString(),
    userId,
    account: account ? dated(account) : null,
    sessions: sessions.map(dated),
    apiKeys: apiKeys.map(dated),
    usage,
    logins: activity.filter((a) => a.type === 'LoginSucceeded' || a.type === 'LoginFailed').map((a) => ({
      at: a.occurredAt, outcome: a.type === 'LoginSucceeded' ? 'succeeded' : 'failed', ...a.summary,
    })),
    conversations: conversations.map((c) => ({
      ...dated(c), messages: messages.filter((m) => m.conversationId === c.id).map(({ conversationId: _, ...m }) => dated(m)),
    })),
    /** Share links not revoked (the tokens are not kept: only their hashes, withheld). */
    conversationShares: shares,
    knowledgeBases: knowledgeBases.map(dated),
    documents: documents.map((d) => ({
      ...dated(d),
      file: 'The file itself is not part of this export: it is kept encrypted in the blob store, named by its sha256.',
      chunks: chunks.filter((c) => c.documentId === d.id).map(({ documentId: _, ...c }) => c),
    })),
    events,
  };
}

function dated(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value instanceof Date ? iso(value) : value]));
}

/**
 * The person's events from the log, decrypted: those about them in full; those they did to someone
 * else (admins) as the audit summary only.
 */
async function ownEvents(store: EventStore, userId: string, activity: readonly AuditView[]): Promise<Array<Record<string, unknown>>> {
  const about = activity.filter((a) => a.subjectId === userId || a.subjectId === null);
  const byPosition = new Map<bigint, RecordedEvent>();
  for (const stream of new Set(about.map((a) => a.stream))) {
    for (const event of await store.readStream(stream)) byPosition.set(event.position, event);
  }
  return activity.map((a) => {
    const envelope = {
      position: a.position.toString(), id: a.eventId, type: a.type, schemaVersion: a.schemaVersion, stream: a.stream, occurredAt: a.occurredAt,
      actorId: a.actorId, correlationId: a.correlationId, causationId: a.causationId, requestId: a.requestId, subjectId: a.subjectId,
    };
    const event = a.subjectId === userId || a.subjectId === null ? byPosition.get(a.position) : undefined;
    if (!event) return { ...envelope, summary: a.summary };
    const data = { ...(event.data as Record<string, unknown>) };
    for (const field of WITHHELD[event.type] ?? []) if (field in data) data[field] = WITHHELD_MARK;
    return { ...envelope, data, ...(event.erasedFields?.length ? { erasedFields: event.erasedFields } : {}) };
  });
}
