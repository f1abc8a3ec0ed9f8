import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresEventStore } from '../src/infra/event-store/postgres-event-store.ts';
import type { EventStore, NewEvent } from '../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../src/infra/ids.ts';
import { fsyncRate } from './fsync-rate.ts';
import { medianRate, printRows } from './measure.ts';

export interface Sizes { runs: number; appends: number; readEvents: number }

function event(i: number): NewEvent {
  return {
    id: uuidv7(), type: 'BenchEvent', schemaVersion: 1,
    data: { i, text: 'a short message of the size a chat turn might have' },
    metadata: { actorId: 'bench', correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date().toISOString() },
  };
}

/** `total` single-event appends spread over `writers` concurrent writers, each on its own stream. */
async function appendConcurrently(store: EventStore, writers: number, total: number): Promise<number> {
  const perWriter = Math.ceil(total / writers);
  const run = uuidv7();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) await store.append(`bench-${run}-${w}`, [event(i)]);
  }));
  return perWriter * writers;
}

async function readEverything(store: EventStore): Promise<number> {
  let after = 0n;
  let count = 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 1000 });
    if (batch.length === 0) return count;
    count += batch.length;
    after = batch[batch.length - 1]!.position;
  }
}

async function fill(store: EventStore, count: number): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    await store.append(`fill-${uuidv7()}`, Array.from({ length: Math.min(100, count - i) }, (_, k) => event(i + k)));
  }
}

export async function benchSqlite(sizes: Sizes): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-'));
  try {
    const baseline = fsyncRate(dir, sizes.appends);
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    const one = await medianRate(sizes.runs, () => appendConcurrently(store, 1, sizes.appends));
    const sixteen = await medianRate(sizes.runs, () => appendConcurrently(store, 16, sizes.appends * 4));
    await fill(store, sizes.readEvents);
    const read = await medianRate(sizes.runs, () => readEverything(store));
    await store.close();
    const rawRead = await medianRate(sizes.runs, async () => rawSqliteRead(join(dir, 'events.sqlite')));
    printRows('SQLite event store', [
      { benchmark: 'append, 1 writer', rate: one, unit: 'appends/s', baseline: 'raw fsync', baselineRate: baseline },
      { benchmark: 'append, 16 writers', rate: sixteen, unit: 'appends/s', baseline: 'raw fsync', baselineRate: baseline },
      { benchmark: 'read $all', rate: read, unit: 'events/s', baseline: 'raw SELECT of the rows', baselineRate: rawRead },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawSqliteRead(file: string): Promise<number> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(file, { readOnly: true });
  const rows = db.prepare('SELECT * FROM events ORDER BY position').all();
  db.close();
  return rows.length;
}

export async function benchPostgres(sizes: Sizes, databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const name = `evident_bench_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  try {
    const raw = new pg.Client({ connectionString: url.toString() });
    await raw.connect();
    await raw.query('CREATE TABLE plain_inserts (id bigserial PRIMARY KEY, data jsonb NOT NULL)');
    const payload = JSON.stringify(event(0).data);
    const baseline = await medianRate(sizes.runs, async () => {
      for (let i = 0; i < sizes.appends; i++) await raw.query('INSERT INTO plain_inserts (data) VALUES ($1)', [payload]);
      return sizes.appends;
    });
    const store = await PostgresEventStore.open({ connectionString: url.toString() });
    const one = await medianRate(sizes.runs, () => appendConcurrently(store, 1, sizes.appends));
    const sixteen = await medianRate(sizes.runs, () => appendConcurrently(store, 16, sizes.appends * 4));
    await fill(store, sizes.readEvents);
    const read = await medianRate(sizes.runs, () => readEverything(store));
    const rawRead = await medianRate(sizes.runs, async () => (await raw.query('SELECT * FROM evident_events ORDER BY global_position')).rowCount ?? 0);
    await store.close();
    await raw.end();
    printRows('PostgreSQL event store', [
      { benchmark: 'append, 1 writer', rate: one, unit: 'appends/s', baseline: 'plain INSERT loop', baselineRate: baseline },
      { benchmark: 'append, 16 writers', rate: sixteen, unit: 'appends/s', baseline: 'plain INSERT loop', baselineRate: baseline },
      { benchmark: 'read $all', rate: read, unit: 'events/s', baseline: 'raw SELECT of the rows', baselineRate: rawRead },
    ]);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
