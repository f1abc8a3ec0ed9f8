import type { ReplyProvenance } from '../domain/conversation/conversation.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the conversations read model (tables of conversations-projection.ts); every read is scoped to its owner. */

export interface ConversationRow {
  conversation_id: string;
  owner_id: string;
  title: string | null;
  model: string;
  system_prompt: string | null;
  params: Record<string, number> | null;
  archived: boolean;
  message_count: number;
  /** The attached knowledge ([] when none). */
  knowledge_base_ids: string[];
  document_ids: string[];
  created_at: string;
  updated_at: string;
  /** The end of the active branch (null before the first message). */
  active_leaf_id?: string | null;
  pinned?: boolean;
  tags?: string[];
}

export interface MessageRow {
  message_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  content: string | null;
  status: string;
  in_reply_to: string | null;
  model: string | null;
  params: Record<string, number> | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  time_to_first_token_ms: number | null;
  latency_ms: number | null;
  finish_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  completed_at: string | null;
  seq: string;
  /** The sources the reply's prompt held; [] for user messages and replies without any. */
  sources: MessageSourceRow[];
  /** Where a finished reply came from; null for user messages, interrupted replies and replies recorded before it existed. */
  provenance?: ReplyProvenance | null;
  /** The message tree: the message this one follows (null for a first message), an edit's original. */
  parent_id?: string | null;
  edited_message_id?: string | null;
  /** The children of its parent (itself among them), oldest first; and its own children. */
  sibling_ids?: string[];
  child_ids?: string[];
}

export interface MessageSourceRow {
  n: number;
  documentId: string;
  version: number;
  chunkId: string;
  page: number | null;
  score: number;
}

const CONVERSATION_COLUMNS = 'conversation_id, owner_id, title, model, system_prompt, params, archived, message_count, created_at, updated_at, '
  + 'knowledge_base_ids, document_ids, active_leaf_id, pinned, tags';

/** A message with its place in the tree (the alias `m`). */
const MESSAGE_COLUMNS = `m.message_id, m.conversation_id, m.owner_id, m.role, m.content, m.status, m.in_reply_to, m.model, m.params, m.usage,
  m.time_to_first_token_ms, m.latency_ms, m.finish_reason, m.error_code, m.error_message, m.created_at, m.completed_at, m.seq, m.sources,
  m.provenance, m.parent_id, m.edited_message_id,
  (SELECT json_agg(s.message_id ORDER BY s.seq) FROM messages s WHERE s.conversation_id = m.conversation_id
     AND (s.parent_id = m.parent_id OR (s.parent_id IS NULL AND m.parent_id IS NULL))) AS sibling_ids,
  COALESCE((SELECT json_agg(c.message_id ORDER BY c.seq) FROM messages c
     WHERE c.conversation_id = m.conversation_id AND c.parent_id = m.message_id), '[]'::json) AS child_ids`;

/** Which messages a list holds: the active branch (root → active leaf), or the whole tree. */
export type MessageScope = 'active' | 'all';
/** Deeper than any conversation can be: a corrupt cycle cannot loop the path query. */
const MAX_PATH_DEPTH = 1_000_000;

/** A keyset page: rows strictly after/before the cursor's key, in the page's order. */
export interface PageQuery<Key> {
  after: Key | null;
  before: Key | null;
  limit: number;
  /** True when reading backwards from `before` (Relay `last`). */
  inverted: boolean;
}

export function ownedConversation(db: SqlExecutor, ownerId: string, conversationId: string): Promise<ConversationRow | null> {
  return db.query<ConversationRow>(`SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE conversation_id = $1 AND owner_id = $2`,
    [conversationId, ownerId]).then(({ rows }) => rows[0] ?? null);
}

export function ownedMessage(db: SqlExecutor, ownerId: string, messageId: string): Promise<MessageRow | null> {
  return db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.message_id = $1 AND m.owner_id = $2`, [messageId, ownerId])
    .then(({ rows }) => rows[0] ?? null);
}

/** Whether the read model holds a message (of any role and status) with this id. */
export async function messageExists(db: SqlExecutor, messageId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM messages WHERE message_id = $1', [messageId]);
  return rows.length > 0;
}

/**
 * A conversation's messages, oldest first, keyed by seq (the position of the event that created each):
 * by default the active branch (a parent always precedes its children, so the path is in seq order too).
 */
export async function messagePage(db: SqlExecutor, conversationId: string, page: PageQuery<string>, scope: MessageScope = 'active'): Promise<MessageRow[]> {
  const params: unknown[] = [conversationId, page.limit];
  const where = ['m.conversation_id = $1'];
  if (page.after) { params.push(page.after); where.push(`m.seq > $${params.length}::bigint`); }
  if (page.before) { params.push(page.before); where.push(`m.seq < $${params.length}::bigint`); }
  const path = scope === 'all' ? '' : `WITH RECURSIVE path (message_id, parent_id, depth) AS (
      SELECT p.message_id, p.parent_id, 0 FROM messages p JOIN conversations c ON c.active_leaf_id = p.message_id
       WHERE c.conversation_id = $1 AND p.conversation_id = $1
      UNION ALL
      SELECT p.message_id, p.parent_id, path.depth + 1 FROM messages p JOIN path ON p.message_id = path.parent_id
       WHERE p.conversation_id = $1 AND path.depth < ${MAX_PATH_DEPTH})`;
  if (scope !== 'all') where.push('m.message_id IN (SELECT message_id FROM path)');
  const { rows } = await db.query<MessageRow>(
    `${path} SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE ${where.join(' AND ')} ORDER BY m.seq ${page.inverted ? 'DESC' : 'ASC'} LIMIT $2`, params);
  return rows;
}

/** Filters of an owner's conversation list; undefined/null means "any". */
export interface ConversationFilter {
  archived: boolean;
  pinned?: boolean | null;
  /** Conversations holding this tag (compared case-insensitively). */
  tag?: string | null;
}

/**
 * An owner's conversations, pinned first, then newest first, keyed by (pinned, created_at,
 * conversation_id): "after" a key means further down the list.
 */
export async function conversationPage(
  db: SqlExecutor, ownerId: string, filter: ConversationFilter | boolean,
  page: PageQuery<[pinned: boolean, createdAt: string, conversationId: string]>,
): Promise<ConversationRow[]> {
  const { archived, pinned, tag } = typeof filter === 'boolean' ? { archived: filter } as ConversationFilter : filter;
  const params: unknown[] = [ownerId, archived, page.limit];
  const where = ['owner_id = $1', 'archived = $2'];
  if (pinned !== null && pinned !== undefined) { params.push(pinned); where.push(`pinned = $${params.length}`); }
  if (tag !== null && tag !== undefined) {
    params.push(tag);
    where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(tags) t WHERE lower(t) = lower($${params.length}))`);
  }
  for (const [key, op] of [[page.after, '<'], [page.before, '>']] as const) {
    if (!key) continue;
    params.push(...key);
    where.push(`(pinned, created_at, conversation_id) ${op} ($${params.length - 2}::boolean, $${params.length - 1}::timestamptz, $${params.length})`);
  }
  const order = page.inverted ? 'ASC' : 'DESC';
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE ${where.join(' AND ')}
     ORDER BY pinned ${order}, created_at ${order}, conversation_id ${order} LIMIT $3`, params);
  return rows;
}

/** What searchConversations looks for: words of titles and message text, and filters; all optional. */
export interface ConversationSearch {
  /** websearch syntax: words, "a phrase", OR, -word. Blank: filters only. */
  query: string | null;
  tag: string | null;
  /** null: both archived and active ones. */
  archived: boolean | null;
  /** Last activity (updated_at) at or after / before. */
  from: string | null;
  to: string | null;
}

export interface SearchHitRow extends ConversationRow {
  title_matched: boolean;
  /** The first matching messages (any branch), oldest first. */
  matched_messages: MessageRow[];
}

export const MAX_MATCHED_MESSAGES = 3;

/**
 * Full-text search over the owner's own conversations (titles, and message text of every branch),
 * most recently active first, keyed by (updated_at, conversation_id). PostgreSQL's text search with
 * the 'simple' configuration: PGlite and PostgreSQL rank and match the same.
 */
export async function searchConversations(
  db: SqlExecutor, ownerId: string, search: ConversationSearch, page: PageQuery<[updatedAt: string, conversationId: string]>,
): Promise<SearchHitRow[]> {
  const query = search.query !== null && search.query.trim().length > 0 ? search.query : null;
  const params: unknown[] = [ownerId, page.limit, query];
  const where = ['c.owner_id = $1'];
  if (query !== null) {
    where.push(`(c.title_tsv @@ websearch_to_tsquery('simple', $3) OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.conversation_id
      AND m.owner_id = $1 AND m.content_tsv @@ websearch_to_tsquery('simple', $3)))`);
  }
  if (search.archived !== null) { params.push(search.archived); where.push(`c.archived = $${params.length}`); }
  if (search.tag !== null) {
    params.push(search.tag);
    where.push(`EXISTS (SELECT 1 FROM jsonb_array_elements_text(c.tags) t WHERE lower(t) = lower($${params.length}))`);
  }
  if (search.from !== null) { params.push(search.from); where.push(`c.updated_at >= $${params.length}::timestamptz`); }
  if (search.to !== null) { params.push(search.to); where.push(`c.updated_at < $${params.length}::timestamptz`); }
  for (const [key, op] of [[page.after, '<'], [page.before, '>']] as const) {
    if (!key) continue;
    params.push(...key);
    where.push(`(c.updated_at, c.conversation_id) ${op} ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  const order = page.inverted ? 'ASC' : 'DESC';
  const columns = CONVERSATION_COLUMNS.split(', ').map((column) => `c.${column}`).join(', ');
  const { rows } = await db.query<ConversationRow & { title_matched: boolean | null }>(
    `SELECT ${columns}, ($3::text IS NOT NULL AND c.title_tsv @@ websearch_to_tsquery('simple', coalesce($3::text, ''))) AS title_matched
     FROM conversations c WHERE ${where.join(' AND ')}
     ORDER BY c.updated_at ${order}, c.conversation_id ${order} LIMIT $2`, params);
  const matches = new Map<string, MessageRow[]>();
  if (query !== null && rows.length > 0) {
    const found = await db.query<MessageRow & { rn: number }>(
      `SELECT * FROM (SELECT ${MESSAGE_COLUMNS}, row_number() OVER (PARTITION BY m.conversation_id ORDER BY m.seq) AS rn
         FROM messages m WHERE m.owner_id = $1 AND m.conversation_id = ANY($2::text[]) AND m.content_tsv @@ websearch_to_tsquery('simple', $3)) x
       WHERE x.rn <= ${MAX_MATCHED_MESSAGES} ORDER BY x.seq`,
      [ownerId, rows.map((r) => r.conversation_id), query]);
    for (const { rn: _, ...message } of found.rows) {
      matches.set(message.conversation_id, [...(matches.get(message.conversation_id) ?? []), message]);
    }
  }
  return rows.map((row) => ({ ...row, title_matched: row.title_matched === true, matched_messages: matches.get(row.conversation_id) ?? [] }));
}
