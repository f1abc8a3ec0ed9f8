import type { ReadDb } from '../read-db/port.ts';
import { PgvectorIndex } from './pgvector-index.ts';
import { VectorIndexError, type VectorIndex } from './port.ts';
import { PostgresArrayIndex } from './postgres-array-index.ts';

export interface ChosenVectorIndex {
  index: VectorIndex;
  /** One line for the start-up log saying which adapter and why (no secrets, no personal data). */
  reason: string;
}

/**
 * The vector index for a read database: pgvector when the database has it (PGlite always does),
 * else exact cosine over `real[]` on PostgreSQL, with the reason said.
 */
export async function createVectorIndex(db: ReadDb): Promise<ChosenVectorIndex> {
  if (db.kind === 'pglite') return { index: await PgvectorIndex.open(db), reason: 'pgvector in PGlite (HNSW, cosine)' };
  try {
    return { index: await PgvectorIndex.open(db), reason: 'pgvector in PostgreSQL (HNSW, cosine)' };
  } catch (error) {
    if (!(error instanceof VectorIndexError) || error.code !== 'unsupported') throw error;
    return { index: new PostgresArrayIndex(db), reason: `exact cosine over real[] in PostgreSQL, because ${error.message}` };
  }
}
