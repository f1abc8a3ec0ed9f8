/**
 * Vector index for PostgreSQL without pgvector (this project's CI PostgreSQL has none): vectors are
 * stored L2-normalised in `real[]` columns, so cosine similarity is their dot product. Search is
 * exact. Computing it in SQL costs ~50 µs per row (an unnest per row), too slow for an owner with tens
 * of thousands of chunks, so an owner's vectors are loaded once into this process and scored in JS;
 * the copy is checked on every search against a generation token that every write to that owner's
 * rows replaces in the same transaction, so any instance's write is seen at the next search. An
 * owner too large for the cache is scored in SQL instead.
 */
import type { ReadDb, SqlExecutor } from '../read-db/port.ts';
import type { RetrievalFilter } from '../retrieval/types.ts';
import type { VectorSpace } from './port.ts';
import { SqlVectorIndex, type SearchRow } from './sql-vector-index.ts';

export interface PostgresArrayIndexOptions {
  /** Bytes of vectors kept in memory across owners (least recently used dropped first). Default 256 MB. */
  cacheBytes?: number;
}

const GENERATIONS = 'vector_array_generations';

interface OwnerVectors {
  generation: string;
  chunkIds: string[];
  documentIds: string[];
  versions: number[];
  /** Row-major, unit-length vectors. */
  flat: Float32Array;
}

export class PostgresArrayIndex extends SqlVectorIndex {
  readonly kind = 'postgres-array';
  protected readonly registry = 'vector_array_spaces';
  protected readonly tablePrefix = 'vecarr_';
  readonly #cacheBytes: number;
  readonly #cache = new Map<string, OwnerVectors>();
  #cachedBytes = 0;

  constructor(db: ReadDb, options: PostgresArrayIndexOptions = {}) {
    super(db);
    this.#cacheBytes = options.cacheBytes ?? 256 * 1024 * 1024;
  }

  protected createSpaceSql(table: string, space: VectorSpace): string {
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (
        chunk_id text PRIMARY KEY, document_id text NOT NULL, version int NOT NULL, owner_id text NOT NULL,
        embedding real[] NOT NULL CHECK (cardinality(embedding) = ${space.dimensions}))`,
      `CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner_id, document_id, version)`,
      `CREATE TABLE IF NOT EXISTS ${GENERATIONS} (space_id text NOT NULL, owner_id text NOT NULL, generation text NOT NULL, PRIMARY KEY (space_id, owner_id))`,
    ].join(';\n');
  }

  /** Normalised, so the dot product is the cosine similarity. */
  protected encode(vector: Float32Array, norm: number): string {
    return `{${Array.from(vector, (value) => value / norm).join(',')}}`;
  }

  protected vectorCast(): string {
    return '::real[]';
  }

  protected override async ownersChanged(tx: SqlExecutor, space: string, owners: readonly string[]): Promise<void> {
    await tx.query(
      `INSERT INTO ${GENERATIONS} (space_id, owner_id, generation)
       SELECT $1, o, md5(random()::text || clock_timestamp()::text || o) FROM unnest($2::text[]) AS u(o)
       ON CONFLICT (space_id, owner_id) DO UPDATE SET generation = excluded.generation`,
      [space, owners],
    );
  }

  /** No row naming the owner is left; a search without a generation is scored in SQL, so no copy is used. */
  protected override async ownerErased(tx: SqlExecutor, owner: string): Promise<void> {
    await tx.query(`DELETE FROM ${GENERATIONS} WHERE owner_id = $1`, [owner]);
    for (const key of [...this.#cache.keys()]) if (key.endsWith(`\u0000${owner}`)) this.#evict(key);
  }

  override async tables(): Promise<string[]> {
    // Made with the first vectors: until then there is nothing of it to scrub.
    const { rows } = await this.db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [GENERATIONS]);
    return [...await super.tables(), ...(rows[0]?.present ? [GENERATIONS] : [])];
  }

  protected override async spaceDropped(tx: SqlExecutor, space: string): Promise<void> {
    await tx.query(`DELETE FROM ${GENERATIONS} WHERE space_id = $1`, [space]);
    for (const key of [...this.#cache.keys()]) if (key.startsWith(`${space}\u0000`)) this.#evict(key);
  }

  protected async searchRows(space: VectorSpace, query: Float32Array, queryNorm: number, filter: RetrievalFilter, limit: number): Promise<SearchRow[]> {
    const { rows } = await this.db.query<{ generation: string }>(
      `SELECT generation FROM ${GENERATIONS} WHERE space_id = $1 AND owner_id = $2`, [space.id, filter.ownerId],
    ).catch((error: unknown) => {
      if ((error as { code?: string }).code === '42P01') return { rows: [] }; // no space ever made
      throw error;
    });
    const generation = rows[0]?.generation;
    if (generation === undefined) return this.#searchInSql(space, query, queryNorm, filter, limit); // nothing to cache
    const vectors = await this.#ownerVectors(space, filter.ownerId, generation);
    if (!vectors) return this.#searchInSql(space, query, queryNorm, filter, limit);
    return topK(vectors, space.dimensions, query, queryNorm, filter.documentIds === undefined ? undefined : new Set(filter.documentIds), limit);
  }

  async #ownerVectors(space: VectorSpace, ownerId: string, generation: string): Promise<OwnerVectors | undefined> {
    const key = `${space.id}\u0000${ownerId}`;
    const cached = this.#cache.get(key);
    if (cached?.generation === generation) {
      this.#cache.delete(key); // most recently used last
      this.#cache.set(key, cached);
      return cached;
    }
    if (cached) this.#evict(key);
    const { rows: [size] } = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.table(space)} WHERE owner_id = $1`, [ownerId]);
    if ((size?.n ?? 0) * space.dimensions * 4 > this.#cacheBytes) return undefined;
    // Rows written after the generation was read carry a newer generation: the next search reloads.
    // In PostgreSQL's binary array format (array_send): the driver's text array parser takes ~0.2 ms
    // per 256-number row, decoding the binary form a few µs.
    const { rows } = await this.db.query<{ chunk_id: string; document_id: string; version: number; embedding: Uint8Array }>(
      `SELECT chunk_id, document_id, version, array_send(embedding) AS embedding FROM ${this.table(space)} WHERE owner_id = $1`, [ownerId],
    );
    const flat = new Float32Array(rows.length * space.dimensions);
    rows.forEach((row, i) => decodeFloat4Array(row.embedding, space.dimensions, flat, i * space.dimensions));
    const entry: OwnerVectors = {
      generation, flat, chunkIds: rows.map((r) => r.chunk_id), documentIds: rows.map((r) => r.document_id), versions: rows.map((r) => r.version),
    };
    this.#cache.set(key, entry);
    this.#cachedBytes += flat.byteLength;
    for (const oldest of this.#cache.keys()) {
      if (this.#cachedBytes <= this.#cacheBytes) break;
      if (oldest !== key) this.#evict(oldest);
    }
    return entry;
  }

  #evict(key: string): void {
    const entry = this.#cache.get(key);
    if (!entry) return;
    this.#cachedBytes -= entry.flat.byteLength;
    this.#cache.delete(key);
  }

  async #searchInSql(space: VectorSpace, query: Float32Array, queryNorm: number, filter: RetrievalFilter, limit: number): Promise<SearchRow[]> {
    const { where, params } = this.searchSql(query, queryNorm, filter, limit);
    const { rows } = await this.db.query<SearchRow>(
      `SELECT chunk_id, document_id, version, score FROM (
         SELECT chunk_id, document_id, version,
                (SELECT sum(a::float8 * b::float8) FROM unnest(embedding, $1::real[]) AS u(a, b)) AS score
           FROM ${this.table(space)} WHERE ${where}) AS scored
        ORDER BY score DESC, chunk_id LIMIT $2`,
      params,
    );
    return rows;
  }
}

/** Exact top `limit` by dot product with the normalised query; ties by chunkId, as the SQL path orders them. */
function topK(vectors: OwnerVectors, dimensions: number, query: Float32Array, queryNorm: number, documents: Set<string> | undefined, limit: number): SearchRow[] {
  const q = Float64Array.from(query, (value) => value / queryNorm);
  const best: { row: number; score: number }[] = [];
  const worse = (a: { row: number; score: number }, b: { row: number; score: number }) =>
    a.score < b.score || (a.score === b.score && vectors.chunkIds[a.row]! > vectors.chunkIds[b.row]!);
  for (let row = 0; row < vectors.chunkIds.length; row++) {
    if (documents && !documents.has(vectors.documentIds[row]!)) continue;
    let dot = 0;
    const offset = row * dimensions;
    for (let i = 0; i < dimensions; i++) dot += vectors.flat[offset + i]! * q[i]!;
    const candidate = { row, score: dot };
    if (best.length === limit && !worse(best[best.length - 1]!, candidate)) continue;
    let at = best.length;
    while (at > 0 && worse(best[at - 1]!, candidate)) at--;
    best.splice(at, 0, candidate);
    if (best.length > limit) best.pop();
  }
  return best.map(({ row, score }) => ({ chunk_id: vectors.chunkIds[row]!, document_id: vectors.documentIds[row]!, version: vectors.versions[row]!, score }));
}

/**
 * Decodes a one-dimensional float4[] without NULLs in PostgreSQL's binary array format: ndim, has-null
 * flag, element type oid, then length and lower bound per dimension, then per element a 4-byte length
 * and a big-endian float4.
 */
export function decodeFloat4Array(bytes: Uint8Array, dimensions: number, into: Float32Array, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const FLOAT4_OID = 700;
  if (bytes.byteLength !== 20 + dimensions * 8 || view.getInt32(0) !== 1 || view.getInt32(4) !== 0 || view.getInt32(8) !== FLOAT4_OID || view.getInt32(12) !== dimensions) {
    throw new Error(`a stored vector is not a float4[${dimensions}] without NULLs`);
  }
  for (let i = 0; i < dimensions; i++) into[offset + i] = view.getFloat32(20 + i * 8 + 4);
}
