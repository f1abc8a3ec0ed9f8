import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';

vectorIndexContract('pgvector on PGlite (few rows per owner: exact scan)', async () => {
  const db = await PgliteReadDb.open();
  return { index: await PgvectorIndex.open(db), dispose: () => db.close() };
});

vectorIndexContract('pgvector on PGlite (always HNSW with iterative scan)', async () => {
  const db = await PgliteReadDb.open();
  return { index: await PgvectorIndex.open(db, { exactBelow: 0 }), dispose: () => db.close() };
});
