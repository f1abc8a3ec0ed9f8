import type { SqlExecutor } from '../infra/read-db/port.ts';

/** Reads of the document read models (documents-projection.ts, document-chunks-projection.ts); every read is scoped to its owner. */

export interface DocumentRow {
  document_id: string;
  owner_id: string;
  name: string | null;
  media_type: string;
  size: number;
  sha256: string;
  current_version: number;
  status: 'uploaded' | 'extracting' | 'extracted' | 'chunked' | 'indexed' | 'failed';
  pages: number | null;
  characters: number | null;
  ocr_pages: number | null;
  chunk_count: number | null;
  failure_stage: string | null;
  failure_reason: string | null;
  failure_message: string | null;
  indexed_version: number | null;
  embedding_model: string | null;
  dimensions: number | null;
  created_at: string;
  updated_at: string;
  /** The keyset cursor of listings (a decimal string). */
  created_seq: string;
}

export interface KnowledgeBaseRow {
  knowledge_base_id: string;
  owner_id: string;
  name: string | null;
  description: string | null;
  document_count: number;
  created_at: string;
  updated_at: string;
  created_seq: string;
}

export interface ChunkRow {
  chunk_id: string;
  owner_id: string;
  document_id: string;
  version: number;
  chunk_index: number;
  text: string;
  page: number | null;
  heading_path: string[];
  document_name: string | null;
}

export interface Page<Row> {
  rows: Row[];
  /** Cursor of the last row, for `after`; null when the page is empty. */
  endCursor: string | null;
  hasNextPage: boolean;
}

export const MAX_PAGE_SIZE = 100;

const documentColumns = (t: string) => `${t}.document_id, ${t}.owner_id, ${t}.name, ${t}.media_type, ${t}.size::float8 AS size, ${t}.sha256,
  ${t}.current_version, ${t}.status, ${t}.pages, ${t}.characters::float8 AS characters, ${t}.ocr_pages, ${t}.chunk_count, ${t}.failure_stage,
  ${t}.failure_reason, ${t}.failure_message, ${t}.indexed_version, ${t}.embedding_model, ${t}.dimensions, ${t}.created_at, ${t}.updated_at,
  ${t}.created_seq::text AS created_seq`;
const DOCUMENT_COLUMNS = documentColumns('documents');

function pageSize(first: number | undefined): number {
  if (first === undefined) return 20;
  if (!Number.isSafeInteger(first) || first < 0) throw new RangeError('first must be an integer ≥ 0');
  return Math.min(first, MAX_PAGE_SIZE);
}

/** A cursor is the created_seq of a row; anything else is refused. */
function cursor(after: string | null | undefined): string | null {
  if (after === null || after === undefined) return null;
  if (!/^\d{1,19}$/.test(after)) throw new RangeError('Invalid cursor');
  return after;
}

async function page<Row extends { created_seq: string }>(
  db: SqlExecutor, sql: string, params: unknown[], first: number,
): Promise<Page<Row>> {
  if (first === 0) return { rows: [], endCursor: null, hasNextPage: false };
  const { rows } = await db.query<Row>(sql, [...params, first + 1]);
  const hasNextPage = rows.length > first;
  const kept = rows.slice(0, first);
  return { rows: kept, endCursor: kept.at(-1)?.created_seq ?? null, hasNextPage };
}

/** The owner's documents, newest first, keyset-paginated by upload position. */
export function listDocuments(db: SqlExecutor, ownerId: string, options: { first?: number; after?: string | null } = {}): Promise<Page<DocumentRow>> {
  return page<DocumentRow>(db,
    `SELECT ${DOCUMENT_COLUMNS} FROM documents
     WHERE owner_id = $1 AND ($2::bigint IS NULL OR documents.created_seq < $2::bigint)
     ORDER BY documents.created_seq DESC LIMIT $3`,
    [ownerId, cursor(options.after)], pageSize(options.first));
}

export async function getDocument(db: SqlExecutor, ownerId: string, documentId: string): Promise<DocumentRow | null> {
  const { rows } = await db.query<DocumentRow>(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE document_id = $1 AND owner_id = $2`, [documentId, ownerId]);
  return rows[0] ?? null;
}

const BASE_COLUMNS = `k.knowledge_base_id, k.owner_id, k.name, k.description, k.created_at, k.updated_at, k.created_seq::text AS created_seq,
  (SELECT count(*)::int FROM knowledge_base_documents m WHERE m.knowledge_base_id = k.knowledge_base_id) AS document_count`;

/** The owner's knowledge bases, newest first. */
export function listKnowledgeBases(db: SqlExecutor, ownerId: string, options: { first?: number; after?: string | null } = {}): Promise<Page<KnowledgeBaseRow>> {
  return page<KnowledgeBaseRow>(db,
    `SELECT ${BASE_COLUMNS} FROM knowledge_bases k
     WHERE k.owner_id = $1 AND ($2::bigint IS NULL OR k.created_seq < $2::bigint)
     ORDER BY k.created_seq DESC LIMIT $3`,
    [ownerId, cursor(options.after)], pageSize(options.first));
}

export async function getKnowledgeBase(db: SqlExecutor, ownerId: string, knowledgeBaseId: string): Promise<KnowledgeBaseRow | null> {
  const { rows } = await db.query<KnowledgeBaseRow>(`SELECT ${BASE_COLUMNS} FROM knowledge_bases k WHERE k.knowledge_base_id = $1 AND k.owner_id = $2`,
    [knowledgeBaseId, ownerId]);
  return rows[0] ?? null;
}

/** A base's documents (the owner's, not deleted), in the order they were added. */
export async function knowledgeBaseDocuments(db: SqlExecutor, ownerId: string, knowledgeBaseId: string): Promise<DocumentRow[]> {
  const { rows } = await db.query<DocumentRow>(
    `SELECT ${documentColumns('d')} FROM knowledge_base_documents m
     JOIN documents d ON d.document_id = m.document_id AND d.owner_id = m.owner_id
     WHERE m.knowledge_base_id = $1 AND m.owner_id = $2
     ORDER BY m.added_seq`,
    [knowledgeBaseId, ownerId]);
  return rows;
}

/** Chunks by id, only the owner's; in no particular order. */
export async function chunksByIds(db: SqlExecutor, ownerId: string, chunkIds: readonly string[]): Promise<ChunkRow[]> {
  if (chunkIds.length === 0) return [];
  const { rows } = await db.query<ChunkRow>(
    `SELECT c.chunk_id, c.owner_id, c.document_id, c.version, c.chunk_index, c.text, c.page, c.heading_path, d.name AS document_name
     FROM document_chunks c LEFT JOIN documents d ON d.document_id = c.document_id
     WHERE c.owner_id = $1 AND c.chunk_id = ANY($2::text[])`,
    [ownerId, [...chunkIds]]);
  return rows;
}

/** A chunk cursor is `<version>.<index>` of the last chunk seen; anything else is refused. */
function chunkCursor(after: string | null | undefined): [number, number] | [null, null] {
  if (after === null || after === undefined) return [null, null];
  const match = /^(\d{1,9})\.(\d{1,9})$/.exec(after);
  if (!match) throw new RangeError('Invalid cursor');
  return [Number(match[1]), Number(match[2])];
}

/** A document's chunks (the owner's only), in reading order: by version, then position; keyset-paginated in that order. */
export async function documentChunks(
  db: SqlExecutor, ownerId: string, documentId: string, options: { first?: number; after?: string | null } = {},
): Promise<Page<ChunkRow>> {
  const first = pageSize(options.first);
  if (first === 0) return { rows: [], endCursor: null, hasNextPage: false };
  const [version, index] = chunkCursor(options.after);
  const { rows } = await db.query<ChunkRow>(
    `SELECT c.chunk_id, c.owner_id, c.document_id, c.version, c.chunk_index, c.text, c.page, c.heading_path, d.name AS document_name
     FROM document_chunks c LEFT JOIN documents d ON d.document_id = c.document_id
     WHERE c.owner_id = $1 AND c.document_id = $2 AND ($3::int IS NULL OR (c.version, c.chunk_index) > ($3::int, $4::int))
     ORDER BY c.version, c.chunk_index LIMIT $5`,
    [ownerId, documentId, version, index, first + 1]);
  const kept = rows.slice(0, first);
  const last = kept.at(-1);
  return { rows: kept, endCursor: last ? `${last.version}.${last.chunk_index}` : null, hasNextPage: rows.length > first };
}

/** Stages a document waits in before it is indexed (or failed): the ingestion queue. */
export const INGESTION_QUEUE_STAGES = ['uploaded', 'extracting', 'extracted', 'chunked'] as const;

/** How many documents of all owners wait in each stage of ingestion (for metrics; no owner, no name). */
export async function ingestionQueue(db: SqlExecutor): Promise<Record<(typeof INGESTION_QUEUE_STAGES)[number], number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM documents WHERE status = ANY($1::text[]) GROUP BY status`, [[...INGESTION_QUEUE_STAGES]]);
  const queue = Object.fromEntries(INGESTION_QUEUE_STAGES.map((stage) => [stage, 0])) as Record<(typeof INGESTION_QUEUE_STAGES)[number], number>;
  for (const row of rows) if (row.status in queue) queue[row.status as keyof typeof queue] = row.n;
  return queue;
}
