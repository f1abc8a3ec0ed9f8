/**
 * Vector index for PostgreSQL without pgvector (this project's CI PostgreSQL has none): vectors are
 * stored L2-normalised in `real[]` columns, so cosine similarity is their dot product, computed
 * exactly in SQL over the owner's rows (and documents') only. No approximate index: search time grows
 * with the owner's chunk count (see bench/vector.bench.ts), but results are exact.
 */
import type { ReadDb, SqlExecutor } from '../read-db/port.ts';
import type { VectorSpace } from './port.ts';
import { SqlVectorIndex, type SearchRow } from './sql-vector-index.ts';

export class PostgresArrayIndex extends SqlVectorIndex {
  readonly kind = 'postgres-array';
  protected readonly registry = 'vector_array_spaces';
  protected readonly tablePrefix = 'vecarr_';

  constructor(db: ReadDb) {
    super(db);
  }

  protected createSpaceSql(table: string, space: VectorSpace): string {
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (
        chunk_id text PRIMARY KEY, document_id text NOT NULL, version int NOT NULL, owner_id text NOT NULL,
        embedding real[] NOT NULL CHECK (cardinality(embedding) = ${space.dimensions}))`,
      `CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner_id, document_id, version)`,
    ].join(';\n');
  }

  /** Normalised, so the dot product in SQL is the cosine similarity. */
  protected encode(vector: Float32Array, norm: number): string {
    return `{${Array.from(vector, (value) => value / norm).join(',')}}`;
  }

  protected vectorCast(): string {
    return '::real[]';
  }

  protected async runSearch(tx: SqlExecutor, table: string, _space: VectorSpace, where: string, params: unknown[]): Promise<SearchRow[]> {
    const { rows } = await tx.query<SearchRow>(
      `SELECT chunk_id, document_id, version, score FROM (
         SELECT chunk_id, document_id, version,
                (SELECT sum(a::float8 * b::float8) FROM unnest(embedding, $1::real[]) AS u(a, b)) AS score
           FROM ${table} WHERE ${where}) AS scored
        ORDER BY score DESC, chunk_id LIMIT $2`,
      params,
    );
    return rows;
  }
}
