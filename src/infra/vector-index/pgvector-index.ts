/**
 * Vector index on pgvector: PGlite (the embedded default, which always has it) or PostgreSQL with the
 * `vector` extension. One table per space with an HNSW index on cosine distance.
 *
 * Why HNSW and not IVFFlat: IVFFlat clusters the rows present when the index is built, so an index
 * created on an empty table (as ensureSpace does, before the projection fills it) has useless lists
 * until rebuilt; HNSW needs no training, stays good as rows arrive, and recalls better at the same
 * speed. Owner and document filters run with `hnsw.iterative_scan = strict_order` (pgvector ≥ 0.8),
 * so a filter that rejects most neighbours still gets `limit` results instead of what survived the
 * first ef_search candidates; and a filter that leaves few rows (`exactBelow`) is searched exactly
 * over them, as iterative scans give up after hnsw.max_scan_tuples. pgvector cannot build HNSW on
 * `vector` above 2,000 dimensions; such spaces are searched exactly (still correct, slower).
 */
import type { ReadDb } from '../read-db/port.ts';
import type { RetrievalFilter } from '../retrieval/types.ts';
import { VectorIndexError, type VectorSpace } from './port.ts';
import { SqlVectorIndex, type SearchRow } from './sql-vector-index.ts';

export const HNSW_MAX_DIMENSIONS = 2_000;

export interface PgvectorIndexOptions {
  /**
   * A search whose owner/document filter leaves at most this many rows scans them exactly instead of
   * using HNSW (default 10,000). pgvector's iterative HNSW scan stops after hnsw.max_scan_tuples
   * (20,000) tuples, so a small owner among many others could otherwise get fewer hits than exist.
   */
  exactBelow?: number;
  /**
   * HNSW candidate list per search (hnsw.ef_search), at least the limit; default 100. pgvector's 40
   * reached only 0.70 recall@10 on 50k test-embedder vectors (bench/vector.bench.ts).
   */
  efSearch?: number;
}

export class PgvectorIndex extends SqlVectorIndex {
  readonly kind = 'pgvector';
  protected readonly registry = 'vector_spaces';
  protected readonly tablePrefix = 'vec_';

  readonly #exactBelow: number;
  readonly #efSearch: number;

  private constructor(db: ReadDb, options: PgvectorIndexOptions) {
    super(db);
    this.#exactBelow = options.exactBelow ?? 10_000;
    this.#efSearch = Math.min(1000, Math.max(1, Math.trunc(options.efSearch ?? 100)));
  }

  /** Fails with a clear `unsupported` error when the database has no pgvector extension to create. */
  static async open(db: ReadDb, options: PgvectorIndexOptions = {}): Promise<PgvectorIndex> {
    const { rows } = await db.query<{ installed: boolean; available: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS installed,
              EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available`,
    );
    if (rows[0]?.installed !== true) {
      if (rows[0]?.available !== true) {
        throw new VectorIndexError('unsupported', "this PostgreSQL has no pgvector extension (pg_available_extensions has no 'vector'); install pgvector, or use PostgresArrayIndex");
      }
      try {
        await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
      } catch (error) {
        throw new VectorIndexError('unsupported', `pgvector is available but CREATE EXTENSION vector failed (${(error as Error).message}); a superuser must create it once`, { cause: error });
      }
    }
    return new PgvectorIndex(db, options);
  }

  protected createSpaceSql(table: string, space: VectorSpace): string {
    const ddl = [
      `CREATE TABLE IF NOT EXISTS ${table} (
        chunk_id text PRIMARY KEY, document_id text NOT NULL, version int NOT NULL, owner_id text NOT NULL,
        embedding vector(${space.dimensions}) NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner_id, document_id, version)`,
    ];
    if (space.dimensions <= HNSW_MAX_DIMENSIONS) {
      ddl.push(`CREATE INDEX IF NOT EXISTS ${table}_hnsw ON ${table} USING hnsw (embedding vector_cosine_ops)`);
    }
    return ddl.join(';\n');
  }

  protected encode(vector: Float32Array): string {
    return `[${Array.from(vector).join(',')}]`;
  }

  protected vectorCast(space: VectorSpace): string {
    return `::vector(${space.dimensions})`;
  }

  protected async searchRows(space: VectorSpace, query: Float32Array, queryNorm: number, filter: RetrievalFilter, limit: number): Promise<SearchRow[]> {
    const { where, params } = this.searchSql(query, queryNorm, filter, limit);
    const distance = `embedding <=> $1${this.vectorCast(space)}`;
    return this.db.transaction(async (tx) => {
      // Few candidates: an exact scan of them (the owner index finds them), which no HNSW scan limit can cut short.
      const owned = this.ownerWhere(filter, 1);
      const { rows: [candidates] } = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${this.table(space)} WHERE ${owned.where} LIMIT ${this.#exactBelow + 1}) AS c`, owned.params,
      );
      const exact = (candidates?.n ?? 0) <= this.#exactBelow || space.dimensions > HNSW_MAX_DIMENSIONS;
      const sql = exact
        ? `WITH candidates AS MATERIALIZED (SELECT chunk_id, document_id, version, ${distance} AS d FROM ${this.table(space)} WHERE ${where})
           SELECT chunk_id, document_id, version, 1 - d AS score FROM candidates ORDER BY d, chunk_id LIMIT $2`
        : `SELECT chunk_id, document_id, version, 1 - (${distance}) AS score FROM ${this.table(space)} WHERE ${where} ORDER BY ${distance} LIMIT $2`;
      if (!exact) await tx.exec(`SET LOCAL hnsw.iterative_scan = 'strict_order'; SET LOCAL hnsw.ef_search = ${Math.max(this.#efSearch, limit)}`);
      const { rows } = await tx.query<SearchRow>(sql, params);
      return rows;
    });
  }

}
