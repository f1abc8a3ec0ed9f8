import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { migrate } from '../../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { runnerContract, type RunnerEnv } from './runner.contract.ts';
import { checkpointMigrations } from './support.ts';

let env: RunnerEnv;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evident-runner-'));
  const store = new SqliteEventStore(join(dir, 'events.db'));
  const db = await PgliteReadDb.open();
  await migrate(db, await checkpointMigrations(dir));
  env = { store, db };
});

afterAll(async () => {
  await env?.store.close();
  await env?.db.close();
  await rm(dir, { recursive: true, force: true });
});

runnerContract('SQLite + PGlite', () => env);
