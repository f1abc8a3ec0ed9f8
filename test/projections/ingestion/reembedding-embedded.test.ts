import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { reembeddingSuite } from './reembedding.suite.ts';

reembeddingSuite('PGlite + pgvector', async () => {
  const db = await PgliteReadDb.open();
  return { db, vectorIndex: await PgvectorIndex.open(db), close: () => db.close() };
});
