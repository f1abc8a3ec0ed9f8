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
  + 'knowledge_base_ids, document_ids';

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
  return db.query<MessageRow>('SELECT * FROM messages WHERE message_id = $1 AND owner_id = $2', [messageId, ownerId])
    .then(({ rows }) => rows[0] ?? null);
}

/** A conversation's messages, oldest first, keyed by seq (the position of the event that created each). */
export async function messagePage(db: SqlExecutor, conversationId: string, page: PageQuery<string>): Promise<MessageRow[]> {
  const params: unknown[] = [conversationId, page.limit];
  const where = ['conversation_id = $1'];
  if (page.after) { params.push(page.after); where.push(`seq > $${params.length}`); }
  if (page.before) { params.push(page.before); where.push(`seq < $${params.length}`); }
  const { rows } = await db.query<MessageRow>(
    `SELECT * FROM messages WHERE ${where.join(' AND ')} ORDER BY seq ${page.inverted ? 'DESC' : 'ASC'} LIMIT $2`, params);
  return rows;
}

/** An owner's conversations, newest first, keyed by (created_at, conversation_id): "after" a key means older. */
export async function conversationPage(
  db: SqlExecutor, ownerId: string, archived: boolean, page: PageQuery<[createdAt: string, conversationId: string]>,
): Promise<ConversationRow[]> {
  const params: unknown[] = [ownerId, archived, page.limit];
  const where = ['owner_id = $1', 'archived = $2'];
  if (page.after) {
    params.push(...page.after);
    where.push(`(created_at, conversation_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  if (page.before) {
    params.push(...page.before);
    where.push(`(created_at, conversation_id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  const order = page.inverted ? 'ASC' : 'DESC';
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE ${where.join(' AND ')}
     ORDER BY created_at ${order}, conversation_id ${order} LIMIT $3`, params);
  return rows;
}
