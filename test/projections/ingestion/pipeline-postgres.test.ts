import { describe } from 'vitest';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { PostgresArrayIndex } from '../../../src/infra/vector-index/postgres-array-index.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';
import { pipelineSuite } from './pipeline.suite.ts';

const skip = postgresSkipReason('ingestion pipeline on PostgreSQL');

describe.skipIf(skip !== undefined)('ingestion pipeline on PostgreSQL', () => {
  pipelineSuite('PostgreSQL + real[] vectors', async () => {
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
