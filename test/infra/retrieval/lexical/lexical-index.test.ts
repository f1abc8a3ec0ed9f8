import { afterAll, beforeAll, describe } from 'vitest';
import { PgliteReadDb } from '../../../../src/infra/read-db/pglite-read-db.ts';
import { PostgresReadDb } from '../../../../src/infra/read-db/postgres-read-db.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../../support/postgres.ts';
import { lexicalIndexContract } from './lexical-index.contract.ts';

lexicalIndexContract('PGlite in memory', () => PgliteReadDb.open());

const skip = postgresSkipReason('lexical index on PostgreSQL');

describe.skipIf(skip !== undefined)('lexical index, PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  lexicalIndexContract('PostgreSQL', () => PostgresReadDb.open({ connectionString: database.url, poolSize: 2 }));
});
