import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { pipelineSuite } from './pipeline.suite.ts';

pipelineSuite('PGlite + pgvector', async () => {
  const db = await PgliteReadDb.open();
  return { db, vectorIndex: await PgvectorIndex.open(db), close: () => db.close() };
});
