/**
 * BM25 over document chunks, kept as an inverted index in read-model tables (migration 0006) and
 * scored in SQL, so it runs the same on PGlite and PostgreSQL and is never rebuilt per query.
 *
 * Writes take the caller's executor (a projection transaction); table names are unqualified, so a
 * rebuild redirects them through search_path. N, avgdl and document frequencies are per owner.
 */
import type { SqlExecutor } from '../../read-db/port.ts';
import type { IndexedChunk, RankedChunk, RetrievalFilter } from '../types.ts';
import { termFrequencies, tokenize } from './tokenize.ts';

/**
 * Tuned on SciFact train only, for analyzer 2 (tokenize.ts): the argmax of a k1 × b grid over all
 * 809 train queries (bench/lexical-tune.ts; docs/retrieval.md).
 */
export const DEFAULT_K1 = 1.3;
export const DEFAULT_B = 0.75;
/** A query's distinct terms past this many are ignored (first ones kept), bounding the work. */
export const MAX_QUERY_TERMS = 256;
export const MAX_SEARCH_LIMIT = 1000;

/** The read-model tables of the index (migration 0006): for a projection's rebuild and erasure scrub lists. */
export const LEXICAL_TABLES = ['lexical_chunks', 'lexical_postings', 'lexical_owner_stats'] as const;

/** Chunks written per statement. */
const WRITE_BATCH = 500;

/** A chunk, filter or option the index cannot take; nothing was written. */
export class LexicalIndexInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LexicalIndexInputError';
  }
}

export interface LexicalSearchOptions {
  limit: number;
  k1?: number;
  b?: number;
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512 || value.includes('\0')) {
    throw new LexicalIndexInputError(`${what} must be a non-empty string of at most 512 characters without NUL`);
  }
  return value;
}

function checkVersion(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 2_147_483_647) {
    throw new LexicalIndexInputError('version must be a positive 32-bit integer');
  }
  return value as number;
}

function checkFilter(filter: RetrievalFilter): { ownerId: string; documentIds: string[] | null } {
  const ownerId = checkId(filter?.ownerId, 'ownerId');
  if (filter.documentIds === undefined) return { ownerId, documentIds: null };
  if (!Array.isArray(filter.documentIds)) throw new LexicalIndexInputError('documentIds must be an array');
  return { ownerId, documentIds: filter.documentIds.map((id) => checkId(id, 'documentId')) };
}

interface PreparedChunk {
  chunkId: string;
  ownerId: string;
  documentId: string;
  version: number;
  terms: Map<string, number>;
  length: number;
}

function prepare(chunk: IndexedChunk): PreparedChunk {
  const { terms, length } = termFrequencies(typeof chunk?.text === 'string' ? chunk.text : '');
  return {
    chunkId: checkId(chunk?.chunkId, 'chunkId'),
    ownerId: checkId(chunk.ownerId, 'ownerId'),
    documentId: checkId(chunk.documentId, 'documentId'),
    version: checkVersion(chunk.version),
    terms,
    length,
  };
}

/**
 * Indexes chunks. Idempotent by chunk id: a chunk id already indexed (or repeated in `chunks`) is
 * left as it is, with its first content. All chunks are validated before anything is written.
 */
export async function addChunks(tx: SqlExecutor, chunks: readonly IndexedChunk[]): Promise<number> {
  const seen = new Set<string>();
  const prepared: PreparedChunk[] = [];
  for (const chunk of chunks) {
    const p = prepare(chunk);
    if (seen.has(p.chunkId)) continue;
    seen.add(p.chunkId);
    prepared.push(p);
  }
  let added = 0;
  for (let i = 0; i < prepared.length; i += WRITE_BATCH) added += await addBatch(tx, prepared.slice(i, i + WRITE_BATCH));
  return added;
}

async function addBatch(tx: SqlExecutor, batch: readonly PreparedChunk[]): Promise<number> {
  const { rows } = await tx.query<{ chunk_id: string }>(
    `INSERT INTO lexical_chunks (chunk_id, owner_id, document_id, version, length)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])
     ON CONFLICT (chunk_id) DO NOTHING
     RETURNING chunk_id`,
    [batch.map((c) => c.chunkId), batch.map((c) => c.ownerId), batch.map((c) => c.documentId),
      batch.map((c) => c.version), batch.map((c) => c.length)],
  );
  if (rows.length === 0) return 0;
  const inserted = new Set(rows.map((row) => row.chunk_id));
  const fresh = batch.filter((c) => inserted.has(c.chunkId));

  const owners: string[] = [], terms: string[] = [], ids: string[] = [], tfs: number[] = [], lengths: number[] = [];
  const stats = new Map<string, { count: number; total: number }>();
  for (const chunk of fresh) {
    for (const [term, tf] of chunk.terms) {
      owners.push(chunk.ownerId); terms.push(term); ids.push(chunk.chunkId); tfs.push(tf); lengths.push(chunk.length);
    }
    const owner = stats.get(chunk.ownerId) ?? { count: 0, total: 0 };
    owner.count += 1;
    owner.total += chunk.length;
    stats.set(chunk.ownerId, owner);
  }
  if (terms.length > 0) {
    await tx.query(
      `INSERT INTO lexical_postings (owner_id, term, chunk_id, tf, length)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[])`,
      [owners, terms, ids, tfs, lengths],
    );
  }
  const statOwners = [...stats.keys()].sort();
  await tx.query(
    `INSERT INTO lexical_owner_stats (owner_id, chunk_count, total_length)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
     ON CONFLICT (owner_id) DO UPDATE SET
       chunk_count = lexical_owner_stats.chunk_count + excluded.chunk_count,
       total_length = lexical_owner_stats.total_length + excluded.total_length`,
    [statOwners, statOwners.map((o) => stats.get(o)!.count), statOwners.map((o) => stats.get(o)!.total)],
  );
  return fresh.length;
}

/** Deletes the owner's chunks matching `where` (extra params from $2) with their postings; updates the stats. */
async function removeWhere(tx: SqlExecutor, ownerId: string, where: string, params: readonly unknown[]): Promise<number> {
  const { rows } = await tx.query<{ n: number; total: string }>(
    `WITH gone AS (
       DELETE FROM lexical_chunks WHERE owner_id = $1 AND ${where} RETURNING chunk_id, length
     ), postings AS (
       DELETE FROM lexical_postings WHERE chunk_id IN (SELECT chunk_id FROM gone)
     )
     SELECT count(*)::int AS n, coalesce(sum(length), 0)::bigint AS total FROM gone`,
    [ownerId, ...params],
  );
  const removed = rows[0]?.n ?? 0;
  if (removed > 0) await subtractStats(tx, ownerId, removed, rows[0]!.total);
  return removed;
}

async function subtractStats(tx: SqlExecutor, ownerId: string, count: number, total: string): Promise<void> {
  await tx.query(
    `UPDATE lexical_owner_stats SET chunk_count = chunk_count - $2, total_length = total_length - $3::bigint
     WHERE owner_id = $1`,
    [ownerId, count, total],
  );
  await tx.query('DELETE FROM lexical_owner_stats WHERE owner_id = $1 AND chunk_count <= 0', [ownerId]);
}

/** Removes every version of a document; returns the number of chunks removed. */
export async function removeDocument(tx: SqlExecutor, ownerId: string, documentId: string): Promise<number> {
  return removeWhere(tx, checkId(ownerId, 'ownerId'), 'document_id = $2', [checkId(documentId, 'documentId')]);
}

/** Removes one version of a document (e.g. after a newer one is indexed); returns chunks removed. */
export async function removeDocumentVersion(
  tx: SqlExecutor, ownerId: string, documentId: string, version: number,
): Promise<number> {
  return removeWhere(tx, checkId(ownerId, 'ownerId'), 'document_id = $2 AND version = $3',
    [checkId(documentId, 'documentId'), checkVersion(version)]);
}

/** Erasure: removes everything of an owner, statistics included; returns chunks removed. */
export async function removeOwner(tx: SqlExecutor, ownerId: string): Promise<number> {
  const owner = checkId(ownerId, 'ownerId');
  await tx.query('DELETE FROM lexical_postings WHERE owner_id = $1', [owner]);
  await tx.query('DELETE FROM lexical_owner_stats WHERE owner_id = $1', [owner]);
  const { rowCount } = await tx.query('DELETE FROM lexical_chunks WHERE owner_id = $1', [owner]);
  return rowCount;
}

/** Indexed chunks visible through `filter`. */
export async function countChunks(db: SqlExecutor, filter: RetrievalFilter): Promise<number> {
  const { ownerId, documentIds } = checkFilter(filter);
  if (documentIds?.length === 0) return 0;
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM lexical_chunks
     WHERE owner_id = $1 AND ($2::text[] IS NULL OR document_id = ANY($2::text[]))`,
    [ownerId, documentIds],
  );
  return rows[0]?.n ?? 0;
}

function checkOptions(options: LexicalSearchOptions): { limit: number; k1: number; b: number } {
  const limit = options?.limit;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new LexicalIndexInputError('limit must be a positive integer');
  const k1 = options.k1 ?? DEFAULT_K1;
  const b = options.b ?? DEFAULT_B;
  if (!Number.isFinite(k1) || k1 < 0 || k1 > 100) throw new LexicalIndexInputError('k1 must be a number from 0 to 100');
  if (!Number.isFinite(b) || b < 0 || b > 1) throw new LexicalIndexInputError('b must be a number from 0 to 1');
  return { limit: Math.min(limit, MAX_SEARCH_LIMIT), k1, b };
}

/**
 * The distinct query terms, at most MAX_QUERY_TERMS, in order of first appearance. A term repeated
 * in the query counts once: weighting it by its count (the classic qtf factor) ranked worse on
 * SciFact's train split (nDCG@10 0.699 against 0.702, measured with analyzer 1; docs/retrieval.md),
 * since repeats in a question are mostly phrasing, not emphasis.
 */
function queryTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const term of tokenize(typeof query === 'string' ? query : '')) {
    if (terms.size >= MAX_QUERY_TERMS) break;
    terms.add(term);
  }
  return [...terms];
}

/**
 * BM25 in SQL: score = Σ_distinct query terms ln(1 + (N − df + 0.5) / (df + 0.5)) · tf·(k1 + 1) /
 * (tf + k1·(1 − b + b·dl/avgdl)), with N, avgdl and df over the owner's chunks (also when
 * `documentIds` narrows the hits). Ties go to the smaller chunk id (bytewise), so the order is deterministic.
 */
export async function searchLexical(
  db: SqlExecutor, query: string, filter: RetrievalFilter, options: LexicalSearchOptions,
): Promise<RankedChunk[]> {
  const { ownerId, documentIds } = checkFilter(filter);
  const { limit, k1, b } = checkOptions(options);
  const terms = queryTerms(query);
  if (terms.length === 0 || documentIds?.length === 0) return [];
  const { rows } = await db.query<{ chunk_id: string; document_id: string; version: number; score: number }>(
    `WITH stats AS (
       SELECT chunk_count::float8 AS n, total_length::float8 / chunk_count AS avgdl
       FROM lexical_owner_stats WHERE owner_id = $1 AND chunk_count > 0 AND total_length > 0
     ), hits AS (
       SELECT p.term, p.chunk_id, p.tf, p.length, count(*) OVER (PARTITION BY p.term)::float8 AS df
       FROM lexical_postings p WHERE p.owner_id = $1 AND p.term = ANY($2::text[])
     ), scored AS (
       SELECT h.chunk_id,
              sum(ln(1 + (s.n - h.df + 0.5) / (h.df + 0.5))
                  * h.tf * ($3::float8 + 1) / (h.tf + $3::float8 * (1 - $4::float8 + $4::float8 * h.length / s.avgdl))) AS score
       FROM hits h CROSS JOIN stats s
       WHERE $5::text[] IS NULL OR h.chunk_id IN (
         SELECT chunk_id FROM lexical_chunks WHERE owner_id = $1 AND document_id = ANY($5::text[]))
       GROUP BY h.chunk_id
       ORDER BY score DESC, h.chunk_id COLLATE "C"
       LIMIT $6
     )
     SELECT s.chunk_id, c.document_id, c.version, s.score
     FROM scored s JOIN lexical_chunks c ON c.chunk_id = s.chunk_id
     ORDER BY s.score DESC, s.chunk_id COLLATE "C"`,
    [ownerId, terms, k1, b, documentIds, limit],
  );
  return rows.map((row, i) => ({
    chunkId: row.chunk_id, documentId: row.document_id, version: row.version, score: row.score, rank: i + 1,
  }));
}
