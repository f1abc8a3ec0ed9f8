import { describe } from 'vitest';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { PostgresArrayIndex } from '../../../src/infra/vector-index/postgres-array-index.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';
import { reembeddingSuite } from './reembedding.suite.ts';

const skip = postgresSkipReason('re-embedding on PostgreSQL');

describe.skipIf(skip !== undefined)('re-embedding on PostgreSQL', () => {
  reembeddingSuite('PostgreSQL + real[] vectors', async () => {
    const database = await createTestDatabase();
    const db = await PostgresReadDb.open({ connectionString: database.url });
    return {
      db, vectorIndex: new PostgresArrayIndex(db),
      async close() {
        await db.close();
        await database.drop();
      },
    };
  });
});
