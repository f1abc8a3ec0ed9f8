import { EmbedderError, type Embedder } from '../infra/embedders/port.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { DEFAULT_RRF_K, fuseRrf } from '../infra/retrieval/fusion.ts';
import { searchLexical } from '../infra/retrieval/lexical/lexical-index.ts';
import type { RankedChunk } from '../infra/retrieval/types.ts';
import { spaceFor, VectorIndexError, type VectorIndex, type VectorSpace } from '../infra/vector-index/port.ts';
import { chunksByIds } from './documents-queries.ts';

export const MAX_RETRIEVAL_LIMIT = 100;
/** Each ranker is asked for this many times `limit`: hits of versions not (or no longer) serving are dropped after ranking. */
const OVERFETCH = 4;
/** The query text given to the embedder is cut here (a query is a question, not a document). */
const MAX_QUERY_CHARS = 8_000;

export interface RetrievalDeps {
  db: ReadDb;
  vectorIndex: VectorIndex | null;
  embedder: Embedder | null;
  /** The model before an embedding-model change: embeds the query when `space` is its space. */
  previousEmbedder?: Embedder | null;
  /** The space to search (VectorIndexer.retrievalSpace()); left out: the embedder's own space; null: lexical only. */
  space?: VectorSpace | null;
}

export interface RetrievalQuery {
  ownerId: string;
  text: string;
  /** With documentIds: the scope is the union of these bases' documents and these documents. Both left out: all the owner's documents. */
  knowledgeBaseIds?: readonly string[];
  documentIds?: readonly string[];
  limit: number;
  rrfK?: number;
}

export interface RetrievalHit {
  chunkId: string;
  documentId: string;
  version: number;
  documentName: string | null;
  page: number | null;
  headingPath: string[];
  text: string;
  /** The fused score (reciprocal rank fusion, here or in the vector index): higher is better, within one result. */
  score: number;
}

export interface RetrievalResult {
  mode: 'hybrid' | 'lexical';
  /**
   * How a hybrid result was fused: 'index' — the vector index ranked the text and fused it with
   * vector similarity itself (Weaviate's hybrid query); 'rrf' — the read model's BM25 and the index's
   * vector search fused here by reciprocal rank. Null when lexical.
   */
  fusion: 'index' | 'rrf' | null;
  /**
   * Whose vector space the vector side searched: 'current' (the configured model's), 'previous' (the
   * model before a change, while the configured one's space is being filled); null when lexical.
   */
  vectorSpace: 'current' | 'previous' | null;
  /** The model id of that space (null when lexical). */
  embeddingModel: string | null;
  hits: RetrievalHit[];
}

/** The owner's documents in scope that have an indexed version, with that version. */
async function scope(db: ReadDb, query: RetrievalQuery): Promise<Map<string, number>> {
  const scoped = query.knowledgeBaseIds !== undefined || query.documentIds !== undefined;
  const { rows } = await db.query<{ document_id: string; indexed_version: number }>(
    `SELECT d.document_id, d.indexed_version FROM documents d
     WHERE d.owner_id = $1 AND d.indexed_version IS NOT NULL
       AND (NOT $2::boolean
            OR d.document_id = ANY($3::text[])
            OR d.document_id IN (SELECT m.document_id FROM knowledge_base_documents m
                                 WHERE m.owner_id = $1 AND m.knowledge_base_id = ANY($4::text[])))`,
    [query.ownerId, scoped, [...(query.documentIds ?? [])], [...(query.knowledgeBaseIds ?? [])]]);
  return new Map(rows.map((row) => [row.document_id, row.indexed_version]));
}

/**
 * Hybrid retrieval over the owner's documents (ARCHITECTURE.md §10): BM25 over the lexical index and,
 * when an embedder and a vector index are configured, cosine similarity in the active space, fused by
 * reciprocal rank. When the index ranks text itself (`supportsHybrid`: Weaviate), one hybrid query to
 * it replaces both (fusion 'index'); a space it cannot query that way falls back to fusing here.
 * Only the indexed version of each document is served (a newer version's chunks wait
 * until it is indexed). The vector side is used only when the space is the embedder's model (a query
 * vector of one model means nothing in another's space); otherwise the result says 'lexical'.
 */
export async function retrieve(deps: RetrievalDeps, query: RetrievalQuery): Promise<RetrievalResult> {
  const { db, vectorIndex, embedder } = deps;
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) throw new RangeError('limit must be a positive integer');
  const limit = Math.min(query.limit, MAX_RETRIEVAL_LIMIT);
  const text = typeof query.text === 'string' ? query.text : '';
  let space: VectorSpace | null = null;
  let queryEmbedder: Embedder | null = null;
  let role: RetrievalResult['vectorSpace'] = null;
  if (embedder && vectorIndex && deps.space !== null) {
    space = deps.space ?? spaceFor(embedder.modelId, await embedder.dimensions());
    if (space.modelId === embedder.modelId) [queryEmbedder, role] = [embedder, 'current'];
    else if (deps.previousEmbedder && space.modelId === deps.previousEmbedder.modelId) [queryEmbedder, role] = [deps.previousEmbedder, 'previous'];
    else space = null;
  }
  const lexicalOnly: RetrievalResult = { mode: 'lexical', fusion: null, vectorSpace: null, embeddingModel: null, hits: [] };
  const planned: RetrievalResult = space ? { mode: 'hybrid', fusion: 'rrf', vectorSpace: role, embeddingModel: space.modelId, hits: [] } : lexicalOnly;
  const versions = await scope(db, query);
  if (versions.size === 0 || text.trim().length === 0) return planned;
  const filter = { ownerId: query.ownerId, documentIds: [...versions.keys()] };
  const serving = (hits: RankedChunk[]) => hits.filter((hit) => versions.get(hit.documentId) === hit.version).slice(0, limit * OVERFETCH);
  const depth = limit * OVERFETCH * 2;

  let used = planned;
  let vector: Float32Array | undefined;
  if (space) {
    try {
      [vector] = await queryEmbedder!.embed([text.slice(0, MAX_QUERY_CHARS)]);
    } catch (error) {
      // The model is down or refuses the query: answer from the lexical side, and say so.
      if (!(error instanceof EmbedderError)) throw error;
      used = lexicalOnly;
    }
    // A model that now answers in another dimension cannot search this space.
    if (vector && vector.length !== space.dimensions) [vector, used] = [undefined, lexicalOnly];
  }
  const k = query.rrfK ?? DEFAULT_RRF_K;
  let fused: RankedChunk[] | null = null;
  // The index's own fusion uses k 60; a caller asking for another k gets the fusion here.
  if (space && vector && k === DEFAULT_RRF_K && vectorIndex!.supportsHybrid && vectorIndex!.hybridSearch) {
    try {
      fused = serving(await vectorIndex!.hybridSearch(space, text, vector, filter, depth)).slice(0, limit);
      used = { ...used, fusion: 'index' };
    } catch (error) {
      if (!(error instanceof VectorIndexError && (error.code === 'unknown-space' || error.code === 'unsupported'))) throw error;
      // Nothing indexed in this space yet, or a space that keeps no text: fuse here instead.
    }
  }
  if (!fused) {
    const lists = [serving(await searchLexical(db, text, filter, { limit: depth }))];
    if (space && vector) {
      try {
        lists.push(serving(await vectorIndex!.search(space, vector, filter, depth)));
      } catch (error) {
        if (!(error instanceof VectorIndexError && error.code === 'unknown-space')) throw error;
        lists.push([]); // nothing indexed in this space yet
      }
    }
    fused = fuseRrf(lists, { k, limit });
  }
  const chunks = new Map((await chunksByIds(db, query.ownerId, fused.map((hit) => hit.chunkId))).map((row) => [row.chunk_id, row]));
  const hits: RetrievalHit[] = [];
  for (const hit of fused) {
    const chunk = chunks.get(hit.chunkId);
    if (!chunk) continue; // the chunk went (document deleted) between the ranking and this read
    hits.push({
      chunkId: hit.chunkId, documentId: hit.documentId, version: hit.version, documentName: chunk.document_name,
      page: chunk.page, headingPath: chunk.heading_path, text: chunk.text, score: hit.score,
    });
  }
  return { ...used, hits };
}
