import type { SqlExecutor } from '../infra/read-db/port.ts';
import type { ConversationRow, MessageRow, MessageSourceRow } from './conversations-queries.ts';

/**
 * A conversation as a file its owner takes away (JSON; Markdown and PDF are rendered from the same
 * object, conversation-export-render.ts): read from the read models, every read scoped to the owner.
 * What the replies drew on comes along: the attached knowledge bases and documents by name, and each
 * reply's citations ([n] in its text) with the document, version, page and the passage quoted.
 */
export const CONVERSATION_EXPORT_FORMAT = 'evident-conversation/1';
export const CONVERSATIONS_EXPORT_FORMAT = 'evident-conversations/1';
const EXCERPT_LENGTH = 500;

export interface ExportedCitation {
  n: number;
  documentId: string;
  /** Null when the document was deleted since (or its name erased). */
  documentName: string | null;
  documentVersion: number;
  chunkId: string;
  page: number | null;
  /** The start of the passage the reply was given; null when the document version is gone. */
  excerpt: string | null;
}

export interface ExportedMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string | null;
  status: string;
  model: string | null;
  inReplyTo: string | null;
  /** The message it follows in the message tree (null for the first); branches share a parent. */
  parentId: string | null;
  /** On the branch the conversation shows (Markdown and PDF render only these; JSON keeps every branch). */
  onActiveBranch: boolean;
  createdAt: string;
  completedAt: string | null;
  citations: ExportedCitation[];
}

export interface ExportedConversation {
  id: string;
  title: string | null;
  model: string;
  systemPrompt: string | null;
  parameters: Record<string, number>;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
  knowledgeBases: Array<{ id: string; name: string | null }>;
  documents: Array<{ id: string; name: string | null }>;
  messages: ExportedMessage[];
}

export interface ConversationExport {
  format: typeof CONVERSATION_EXPORT_FORMAT;
  exportedAt: string;
  conversation: ExportedConversation;
}

export interface ConversationsExport {
  format: typeof CONVERSATIONS_EXPORT_FORMAT;
  exportedAt: string;
  ownerId: string;
  conversations: ExportedConversation[];
}

const CONVERSATION_COLUMNS = 'conversation_id, owner_id, title, model, system_prompt, params, archived, message_count, created_at, updated_at, '
  + 'knowledge_base_ids, document_ids, active_leaf_id';

async function names(db: SqlExecutor, sql: string, ownerId: string, ids: readonly string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; name: string | null }>(sql, [ownerId, JSON.stringify(ids)]);
  return new Map(rows.map((r) => [r.id, r.name]));
}

const documentNames = (db: SqlExecutor, ownerId: string, ids: readonly string[]) => names(db,
  `SELECT document_id AS id, name FROM documents WHERE owner_id = $1
     AND document_id IN (SELECT jsonb_array_elements_text($2::jsonb))`, ownerId, ids);
const knowledgeBaseNames = (db: SqlExecutor, ownerId: string, ids: readonly string[]) => names(db,
  `SELECT knowledge_base_id AS id, name FROM knowledge_bases WHERE owner_id = $1
     AND knowledge_base_id IN (SELECT jsonb_array_elements_text($2::jsonb))`, ownerId, ids);

async function excerpts(db: SqlExecutor, ownerId: string, chunkIds: readonly string[]): Promise<Map<string, string | null>> {
  if (chunkIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; text: string | null }>(
    `SELECT chunk_id AS id, left(text, ${EXCERPT_LENGTH}) AS text FROM document_chunks WHERE owner_id = $1
       AND chunk_id IN (SELECT jsonb_array_elements_text($2::jsonb))`, [ownerId, JSON.stringify(chunkIds)]);
  return new Map(rows.map((r) => [r.id, r.text]));
}

/** Builds the exported form of conversations (rows already known to be the owner's). */
async function exported(db: SqlExecutor, ownerId: string, rows: readonly ConversationRow[]): Promise<ExportedConversation[]> {
  if (rows.length === 0) return [];
  const { rows: messages } = await db.query<MessageRow>(
    `SELECT * FROM messages WHERE owner_id = $1 AND conversation_id IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY seq`,
    [ownerId, JSON.stringify(rows.map((r) => r.conversation_id))]);
  const sources = messages.flatMap((m) => (Array.isArray(m.sources) ? m.sources : []) as MessageSourceRow[]);
  const docIds = [...new Set([...rows.flatMap((r) => r.document_ids ?? []), ...sources.map((s) => s.documentId)])];
  const [docs, bases, quoted] = await Promise.all([
    documentNames(db, ownerId, docIds),
    knowledgeBaseNames(db, ownerId, [...new Set(rows.flatMap((r) => r.knowledge_base_ids ?? []))]),
    excerpts(db, ownerId, [...new Set(sources.map((s) => s.chunkId))]),
  ]);
  return rows.map((row) => ({
    id: row.conversation_id, title: row.title, model: row.model, systemPrompt: row.system_prompt, parameters: row.params ?? {},
    archived: row.archived, createdAt: row.created_at, updatedAt: row.updated_at,
    knowledgeBases: (row.knowledge_base_ids ?? []).map((id) => ({ id, name: bases.get(id) ?? null })),
    documents: (row.document_ids ?? []).map((id) => ({ id, name: docs.get(id) ?? null })),
    messages: withActiveBranch(messages.filter((m) => m.conversation_id === row.conversation_id), row.active_leaf_id ?? null).map(({ m, active }) => ({
      id: m.message_id, role: m.role, content: m.content, status: m.status, model: m.model, inReplyTo: m.in_reply_to,
      parentId: m.parent_id ?? null, onActiveBranch: active,
      createdAt: m.created_at, completedAt: m.completed_at,
      citations: ((Array.isArray(m.sources) ? m.sources : []) as MessageSourceRow[]).map((s) => ({
        n: s.n, documentId: s.documentId, documentName: docs.get(s.documentId) ?? null, documentVersion: s.version, chunkId: s.chunkId,
        page: s.page ?? null, excerpt: quoted.get(s.chunkId) ?? null,
      })),
    })),
  }));
}

/** Each message with whether it is on the path root → active leaf (walked up through parent ids, guarded against cycles). */
function withActiveBranch(messages: MessageRow[], leafId: string | null): Array<{ m: MessageRow; active: boolean }> {
  const byId = new Map(messages.map((m) => [m.message_id, m]));
  const onPath = new Set<string>();
  for (let id = leafId; id !== null && !onPath.has(id);) {
    const message = byId.get(id);
    if (!message) break;
    onPath.add(id);
    id = message.parent_id ?? null;
  }
  // No leaf recorded (a conversation projected before branches): everything is one path.
  return messages.map((m) => ({ m, active: leafId === null || onPath.has(m.message_id) }));
}

/** One of the owner's conversations as an export; null when it is not theirs (or not there). */
export async function conversationExport(db: SqlExecutor, ownerId: string, conversationId: string, now: Date): Promise<ConversationExport | null> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE conversation_id = $1 AND owner_id = $2`, [conversationId, ownerId]);
  if (rows.length === 0) return null;
  const [conversation] = await exported(db, ownerId, rows);
  return { format: CONVERSATION_EXPORT_FORMAT, exportedAt: now.toISOString(), conversation: conversation! };
}

/** Every conversation of the owner, archived ones included, oldest first. */
export async function conversationsExport(db: SqlExecutor, ownerId: string, now: Date): Promise<ConversationsExport> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE owner_id = $1 ORDER BY created_at, conversation_id`, [ownerId]);
  return { format: CONVERSATIONS_EXPORT_FORMAT, exportedAt: now.toISOString(), ownerId, conversations: await exported(db, ownerId, rows) };
}
