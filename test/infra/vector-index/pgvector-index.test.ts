import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';

vectorIndexContract('pgvector on PGlite', async () => {
  const db = await PgliteReadDb.open();
  return { index: await PgvectorIndex.open(db), dispose: () => db.close() };
});
