import { describe } from 'vitest';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { PostgresArrayIndex } from '../../../src/infra/vector-index/postgres-array-index.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';

const skip = postgresSkipReason('PostgreSQL real[] vector index contract');
describe.skipIf(skip)('postgres', () => {
  vectorIndexContract('real[] on PostgreSQL', async () => {
    const database = await createTestDatabase();
    const db = await PostgresReadDb.open({ connectionString: database.url });
    return { index: new PostgresArrayIndex(db), dispose: async () => { await db.close(); await database.drop(); } };
  });
});
