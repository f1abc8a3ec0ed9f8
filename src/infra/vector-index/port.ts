/**
 * The vector index port: a projection of chunk embeddings, kept in spaces keyed by embedding model so
 * a model change can build a new index beside the old one (which serves until the new one is
 * complete). Scores are cosine similarity (1 = same direction).
 *
 * An index may also rank the chunks' text itself and fuse that with vector similarity in one query
 * (`supportsHybrid`, `hybridSearch`: Weaviate's hybrid query); retrieval then asks it instead of
 * fusing the read model's lexical ranking with `search` itself.
 */
import { createHash } from 'node:crypto';
import type { RankedChunk, RetrievalFilter } from '../retrieval/types.ts';

export interface VectorSpace {
  /** Derived from modelId + dimensions (`spaceFor`); safe as an SQL identifier and a Weaviate name part. */
  id: string;
  modelId: string;
  dimensions: number;
}

export interface VectorItem {
  chunkId: string;
  documentId: string;
  version: number;
  ownerId: string;
  vector: Float32Array;
  /**
   * The chunk's text, for an index that ranks text too (`supportsHybrid`): kept beside the vector, in
   * the owner's part of the index, and gone with it. Other indexes ignore it (the read model has it).
   */
  text?: string;
}

/** Longest chunk text an index takes (a chunk is ~512 tokens; this is far above any). */
export const MAX_TEXT_LENGTH = 100_000;

export interface VectorIndex {
  readonly kind: 'pgvector' | 'postgres-array' | 'weaviate';
  /**
   * True when the index keeps the items' text and offers `hybridSearch`; the caller should then pass
   * `text` with every item it upserts.
   */
  readonly supportsHybrid: boolean;
  /**
   * Only when `supportsHybrid`: a keyword ranking of the items' text (the query's words, any of them)
   * and the vector similarity to `vector`, fused by reciprocal rank (k 60), best first, with the
   * fused score; the same owner and document filtering as `search`, at most `limit`. Throws
   * 'unsupported' for a space made before the index kept text (retrieval then fuses by itself).
   */
  hybridSearch?(space: VectorSpace, text: string, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]>;
  /** Creates the space if missing (idempotent, safe to race). */
  ensureSpace(space: VectorSpace): Promise<void>;
  /** Idempotent by chunkId; any invalid item (wrong dimension, zero vector, …) refuses the whole call, nothing written. */
  upsert(space: VectorSpace, items: VectorItem[]): Promise<void>;
  /** Best first by cosine similarity, only the filter's owner (and documents); at most `limit`. */
  search(space: VectorSpace, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]>;
  /** From every space; returns how many rows/objects were removed. */
  deleteDocument(ownerId: string, documentId: string): Promise<number>;
  deleteDocumentVersion(ownerId: string, documentId: string, version: number): Promise<number>;
  /** From every space (erasure). */
  deleteOwner(ownerId: string): Promise<number>;
  count(space: VectorSpace, filter?: { ownerId?: string; documentId?: string }): Promise<number>;
  spaces(): Promise<VectorSpace[]>;
  dropSpace(space: VectorSpace): Promise<void>;
  /** Read-model tables holding vectors (SQL indexes), for the erasure scrub; absent for an external index. */
  tables?(): Promise<string[]>;
}

export type VectorIndexErrorCode =
  /** An item or query vector is unusable: wrong dimension, zero length, NaN/Infinity, bad ids. */
  | 'invalid-input'
  /** The space was never ensured (or was dropped). */
  | 'unknown-space'
  /** A chunkId already belongs to another owner: refused rather than moved across owners. */
  | 'owner-conflict'
  /** The backend is missing something it needs (e.g. the pgvector extension). */
  | 'unsupported';

export class VectorIndexError extends Error {
  readonly code: VectorIndexErrorCode;

  constructor(code: VectorIndexErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VectorIndexError';
    this.code = code;
  }
}

/** pgvector's limit for the `vector` type; no embedding model comes near it. */
export const MAX_DIMENSIONS = 16_000;
export const MAX_SEARCH_LIMIT = 1_000;
const MAX_ID_LENGTH = 200;

/**
 * The space of a model at a dimension: a readable slug of the model id plus a hash of both, so two
 * models whose slugs collide still get different spaces. At most 48 characters, [a-z0-9_].
 */
export function spaceFor(modelId: string, dimensions: number): VectorSpace {
  if (typeof modelId !== 'string' || modelId.trim() === '' || modelId.length > MAX_ID_LENGTH) {
    throw new VectorIndexError('invalid-input', `modelId must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  checkDimensions(dimensions);
  const slug = modelId.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 24) || 'model';
  const hash = createHash('sha256').update(`${modelId}\u0000${dimensions}`).digest('hex').slice(0, 10);
  return { id: `${slug}_${dimensions}_${hash}`, modelId, dimensions };
}

function checkDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new VectorIndexError('invalid-input', `dimensions must be an integer from 1 to ${MAX_DIMENSIONS}, got ${String(dimensions)}`);
  }
}

/** A space as handed in must be the one `spaceFor` derives, so a table name never comes from outside. */
export function checkSpace(space: VectorSpace): void {
  const expected = spaceFor(space?.modelId, space?.dimensions);
  if (space.id !== expected.id) throw new VectorIndexError('invalid-input', `space id ${JSON.stringify(String(space.id).slice(0, 80))} is not the one derived from its model and dimensions`);
}

function checkId(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.length > MAX_ID_LENGTH) {
    throw new VectorIndexError('invalid-input', `${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
}

/** Throws unless the vector is `dimensions` finite numbers, not all zero; returns its L2 norm. */
export function checkVector(what: string, vector: unknown, dimensions: number): number {
  if (!(vector instanceof Float32Array)) throw new VectorIndexError('invalid-input', `${what}: the vector must be a Float32Array`);
  if (vector.length !== dimensions) {
    throw new VectorIndexError('invalid-input', `${what}: the vector has ${vector.length} dimensions, the space has ${dimensions}`);
  }
  let sum = 0;
  for (const value of vector) {
    if (!Number.isFinite(value)) throw new VectorIndexError('invalid-input', `${what}: the vector holds a non-finite number`);
    sum += value * value;
  }
  if (sum === 0) throw new VectorIndexError('invalid-input', `${what}: the vector is all zeros (cosine similarity is undefined)`);
  return Math.sqrt(sum);
}

/**
 * Validates every item before anything is written and drops repeated chunkIds (the last one wins, as
 * if upserted one after another).
 */
export function checkItems(space: VectorSpace, items: readonly VectorItem[]): VectorItem[] {
  if (!Array.isArray(items)) throw new VectorIndexError('invalid-input', 'items must be an array');
  const byChunk = new Map<string, VectorItem>();
  items.forEach((item, i) => {
    const what = `item ${i}`;
    checkId(`${what}: chunkId`, item?.chunkId);
    checkId(`${what}: documentId`, item.documentId);
    checkId(`${what}: ownerId`, item.ownerId);
    if (!Number.isInteger(item.version) || item.version < 1 || item.version > 2_147_483_647) {
      throw new VectorIndexError('invalid-input', `${what}: version must be a positive integer`);
    }
    checkVector(what, item.vector, space.dimensions);
    if (item.text !== undefined && (typeof item.text !== 'string' || item.text.length > MAX_TEXT_LENGTH || item.text.includes('\0'))) {
      throw new VectorIndexError('invalid-input', `${what}: text must be a string of at most ${MAX_TEXT_LENGTH} characters without NUL`);
    }
    byChunk.delete(item.chunkId);
    byChunk.set(item.chunkId, item);
  });
  return [...byChunk.values()];
}

/** Validates a search; returns the query vector's norm. */
export function checkSearch(space: VectorSpace, vector: Float32Array, filter: RetrievalFilter, limit: number): number {
  checkId('filter.ownerId', filter?.ownerId);
  if (filter.documentIds !== undefined) {
    if (!Array.isArray(filter.documentIds)) throw new VectorIndexError('invalid-input', 'filter.documentIds must be an array');
    filter.documentIds.forEach((id) => checkId('filter.documentIds[]', id));
  }
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_SEARCH_LIMIT) {
    throw new VectorIndexError('invalid-input', `limit must be an integer from 0 to ${MAX_SEARCH_LIMIT}`);
  }
  return checkVector('query', vector, space.dimensions);
}

export function checkOwnerDocument(ownerId: string, documentId?: string, version?: number): void {
  checkId('ownerId', ownerId);
  if (documentId !== undefined) checkId('documentId', documentId);
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new VectorIndexError('invalid-input', 'version must be a positive integer');
}

export function checkCountFilter(filter: { ownerId?: string; documentId?: string } | undefined): void {
  if (filter?.ownerId !== undefined) checkId('filter.ownerId', filter.ownerId);
  if (filter?.documentId !== undefined) checkId('filter.documentId', filter.documentId);
}
