import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MIGRATIONS_DIR } from '../src/app.ts';
import type { EventStore } from '../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../src/infra/ids.ts';
import { migrate } from '../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../src/infra/read-db/pglite-read-db.ts';
import { PostgresReadDb } from '../src/infra/read-db/postgres-read-db.ts';
import type { ReadDb } from '../src/infra/read-db/port.ts';
import { conversationsProjection } from '../src/projections/conversations-projection.ts';
import type { Projection } from '../src/projections/projection.ts';
import { ProjectionRunner } from '../src/projections/runner.ts';
import { usersProjection } from '../src/projections/users-projection.ts';
import { medianRate, printRows } from './measure.ts';
import { DataDir } from './scale.bench.ts';
import { withTempDatabase } from './temp-database.ts';

async function fillUsers(store: EventStore, count: number): Promise<void> {
  const metadata = { actorId: null, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date().toISOString() };
  for (let i = 0; i < count; i += 500) {
    await store.append(`bench_users-${uuidv7()}`, Array.from({ length: Math.min(500, count - i) }, (_, k) => ({
      id: uuidv7(), type: 'UserRegistered', schemaVersion: 1, metadata,
      data: { userId: uuidv7(), email: `user${i + k}@example.com`, displayName: `User ${i + k}` },
    })));
  }
}

/** The same rows written by hand in transactions of the runner's batch size: what a rebuild cannot beat. */
async function plainInserts(db: ReadDb, count: number, batch: number): Promise<number> {
  await db.exec('DROP TABLE IF EXISTS bench_plain; CREATE TABLE bench_plain (LIKE users INCLUDING ALL)');
  const at = new Date().toISOString();
  for (let i = 0; i < count; i += batch) {
    await db.transaction(async (tx) => {
      for (let k = i; k < Math.min(count, i + batch); k++) {
        await tx.query(`INSERT INTO bench_plain (user_id, email, display_name, status, registered_at, updated_at)
          VALUES ($1, $2, $3, 'active', $4, $4)`, [uuidv7(), `user${k}@example.com`, `User ${k}`, at]);
      }
    });
  }
  return count;
}

/** `rebuild(projection)` over `store` (filled already, `events` of the projection's types) into `db`. */
async function rebuildRate(db: ReadDb, store: EventStore, projection: Projection, events: number, runs: number): Promise<number> {
  const runner = new ProjectionRunner({ store, db, projections: [projection], logger: pino({ level: 'silent' }), batchSize: 500 });
  await runner.start();
  try {
    await runner.waitFor(await store.headPosition(), { timeoutMs: 600_000 });
    return await medianRate(runs, async () => {
      await runner.rebuild(projection.name);
      return events;
    });
  } finally {
    await runner.stop();
  }
}

/**
 * `rebuild('users')` (registrations: one row each) and `rebuild('conversations')` (conversations of
 * three turns, as the platform records them, personal fields encrypted), and the plain-insert baseline
 * on one read database.
 */
async function measureRebuild(title: string, db: ReadDb, sizes: { runs: number; rebuildEvents: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-proj-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const conversations = new DataDir(mkdtempSync(join(tmpdir(), 'evident-bench-proj-conv-')));
  try {
    await migrate(db, MIGRATIONS_DIR);
    await fillUsers(store, sizes.rebuildEvents);
    const users = await rebuildRate(db, store, usersProjection, sizes.rebuildEvents, sizes.runs);
    const owners = await conversations.addUsers(Math.max(1, Math.round(sizes.rebuildEvents / 100)));
    // Each conversation: started, then three turns of message, reply start and reply end (10 events).
    await conversations.addConversations(Array.from({ length: Math.round(sizes.rebuildEvents / 10) }, (_, i) => owners[i % owners.length]!), 3);
    const conversationEvents = conversations.events - owners.length;
    const conversationRate = await rebuildRate(db, conversations.store, conversationsProjection, conversationEvents, sizes.runs);
    const baseline = await medianRate(sizes.runs, () => plainInserts(db, sizes.rebuildEvents, 500));
    // What `evident replay` does per projection (the runner's own rebuild): its events/s is the replay rate.
    printRows(title, [
      { benchmark: 'replay users from zero', rate: users, unit: 'events/s', baseline: 'plain single-row INSERT loop, same batches', baselineRate: baseline },
      { benchmark: 'replay conversations from zero', rate: conversationRate, unit: 'events/s', baseline: 'plain single-row INSERT loop, same batches', baselineRate: baseline },
    ]);
  } finally {
    await store.close();
    await conversations.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(conversations.dir, { recursive: true, force: true });
  }
}

export async function benchProjectionRebuild(sizes: { runs: number; rebuildEvents: number }, databaseUrl = process.env.DATABASE_URL): Promise<void> {
  const embedded = await PgliteReadDb.open({});
  try {
    await measureRebuild('Replay: projection rebuild (SQLite log → PGlite read model)', embedded, sizes);
  } finally {
    await embedded.close();
  }
  if (!databaseUrl) {
    console.log('\n## Replay into PostgreSQL: skipped, DATABASE_URL is not set');
    return;
  }
  await withTempDatabase(databaseUrl, 'replay', async (url) => {
    const db = await PostgresReadDb.open({ connectionString: url });
    try {
      await measureRebuild('Replay: projection rebuild (SQLite log → PostgreSQL read model)', db, sizes);
    } finally {
      await db.close();
    }
  });
}
