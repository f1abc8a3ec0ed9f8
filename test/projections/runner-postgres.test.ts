import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import { migrate } from '../../src/infra/read-db/migrations.ts';
import { PostgresReadDb } from '../../src/infra/read-db/postgres-read-db.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import { runnerContract, type RunnerEnv } from './runner.contract.ts';
import { checkpointMigrations } from './support.ts';

const skip = postgresSkipReason('ProjectionRunner on PostgreSQL');

describe.skipIf(skip !== undefined)('PostgreSQL', () => {
  let env: RunnerEnv;
  let database: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'evident-runner-pg-'));
    const url = database.url;
    const store = await PostgresEventStore.open({ connectionString: url, poolSize: 5 });
    const db = await PostgresReadDb.open({ connectionString: url, poolSize: 5 });
    await migrate(db, await checkpointMigrations(dir));
    env = {
      store,
      db,
      connectionString: url,
      openSecondDb: () => PostgresReadDb.open({ connectionString: url, poolSize: 3 }),
    };
  });

  afterAll(async () => {
    await env?.store.close();
    await env?.db.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  runnerContract('PostgreSQL', () => env);
});
