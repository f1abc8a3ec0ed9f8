import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PostgresEventStore } from '../src/infra/event-store/postgres-event-store.ts';
import type { EventStore, NewEvent } from '../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../src/infra/ids.ts';
import { fsyncRate } from './fsync-rate.ts';
import { medianRate, printRows, type Row } from './measure.ts';

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

const EMMETT_DIR = new URL('./emmett/', import.meta.url);
const EMMETT_MODULE = new URL('./node_modules/@event-driven-io/emmett-postgresql/dist/index.js', EMMETT_DIR);

interface EmmettStore {
  appendToStream(stream: string, events: Array<{ type: string; data: unknown; metadata?: unknown }>): Promise<unknown>;
  close(): Promise<void>;
}
interface EmmettModule {
  getPostgreSQLEventStore(connectionString: string, options?: unknown): EmmettStore;
}

/** Emmett's PostgreSQL store (bench/emmett, kept out of the platform's dependencies), installed on first use; undefined if that fails. */
async function loadEmmett(): Promise<{ emmett: EmmettModule; Pool: typeof pg.Pool } | undefined> {
  if (!existsSync(fileURLToPath(EMMETT_MODULE))) {
    const installed = spawnSync('npm', ['ci', '--prefix', fileURLToPath(EMMETT_DIR), '--no-audit', '--no-fund'], { stdio: 'ignore' });
    if (installed.status !== 0 || !existsSync(fileURLToPath(EMMETT_MODULE))) return undefined;
  }
  const emmett = await import(EMMETT_MODULE.href) as EmmettModule;
  // Emmett's own pg, so that its pool is the kind it expects; the same size as ours.
  const emmettPg = createRequire(EMMETT_MODULE)('pg') as typeof pg;
  return { emmett, Pool: emmettPg.Pool };
}

/** Like appendConcurrently, through Emmett's store. */
async function emmettConcurrently(store: EmmettStore, writers: number, total: number): Promise<number> {
  const perWriter = Math.ceil(total / writers);
  const run = uuidv7();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) {
      const e = event(i);
      await store.appendToStream(`bench-${run}-${w}`, [{ type: e.type, data: e.data, metadata: e.metadata }]);
    }
  }));
  return perWriter * writers;
}

/** `total` single-row INSERTs (autocommit, one round trip each) spread over `clients` connections. */
async function insertConcurrently(clients: pg.Client[], total: number, payload: string): Promise<number> {
  const perClient = Math.ceil(total / clients.length);
  await Promise.all(clients.map(async (client) => {
    for (let i = 0; i < perClient; i++) await client.query('INSERT INTO plain_inserts (data) VALUES ($1)', [payload]);
  }));
  return perClient * clients.length;
}

async function withDatabase<T>(admin: pg.Client, databaseUrl: string, work: (url: string) => Promise<T>): Promise<T> {
  const name = `evident_bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

export interface PostgresSizes extends Sizes {
  /** Events in the log before the second one-writer measurement (the "after 100k events"). */
  growthEvents: number;
}

/**
 * PostgreSQL, all in one run and in fresh databases (never the tests'): our appends against Emmett's
 * and a plain INSERT loop at 1 and 16 writers, the group-commit pipeline depth, one writer on an empty
 * log against one writer on the same store and connections after `growthEvents` events, and $all reads.
 */
export async function benchPostgres(sizes: PostgresSizes, databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const rows: Row[] = [];
    const sixteenTotal = sizes.appends * 4;
    const payload = JSON.stringify(event(0).data);

    const plain = await withDatabase(admin, databaseUrl, async (url) => {
      const clients = await Promise.all(Array.from({ length: 16 }, async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        return client;
      }));
      try {
        await clients[0]!.query('CREATE TABLE plain_inserts (id bigserial PRIMARY KEY, data jsonb NOT NULL)');
        const one = await medianRate(sizes.runs, () => insertConcurrently(clients.slice(0, 1), sizes.appends, payload));
        const sixteen = await medianRate(sizes.runs, () => insertConcurrently(clients, sixteenTotal, payload));
        return { one, sixteen };
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    });

    const loaded = await loadEmmett();
    const emmett = loaded && await withDatabase(admin, databaseUrl, async (url) => {
      const pool = new loaded.Pool({ connectionString: url, max: 20 });
      pool.on('error', () => { /* the database is dropped with its connections */ });
      const store = loaded.emmett.getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
      try {
        await emmettConcurrently(store, 1, 10); // creates its schema
        const one = await medianRate(sizes.runs, () => emmettConcurrently(store, 1, sizes.appends));
        const sixteen = await medianRate(sizes.runs, () => emmettConcurrently(store, 16, sixteenTotal));
        return { one, sixteen };
      } finally {
        await store.close();
        await pool.end().catch(() => {});
      }
    });
    if (!emmett) console.log('\n(Emmett skipped: bench/emmett could not be installed with npm ci)');

    const ours = await withDatabase(admin, databaseUrl, async (url) => {
      const store = await PostgresEventStore.open({ connectionString: url });
      try {
        const one = await medianRate(sizes.runs, () => appendConcurrently(store, 1, sizes.appends));
        const sixteen = await medianRate(sizes.runs, () => appendConcurrently(store, 16, sixteenTotal));
        await fill(store, sizes.readEvents);
        const read = await medianRate(sizes.runs, () => readEverything(store));
        const raw = new pg.Client({ connectionString: url });
        await raw.connect();
        const rawRead = await medianRate(sizes.runs, async () => (await raw.query('SELECT * FROM evident_events ORDER BY global_position')).rowCount ?? 0);
        await raw.end();
        return { one, sixteen, read, rawRead };
      } finally {
        await store.close();
      }
    });

    const pipelines: Array<{ depth: number; rate: number }> = [];
    for (const depth of [1, 2, 3, 4]) {
      const rate = await withDatabase(admin, databaseUrl, async (url) => {
        const store = await PostgresEventStore.open({ connectionString: url, pipeline: depth });
        try {
          return await medianRate(sizes.runs, () => appendConcurrently(store, 16, sixteenTotal));
        } finally {
          await store.close();
        }
      });
      pipelines.push({ depth, rate });
    }

    const growth = await withDatabase(admin, databaseUrl, async (url) => {
      const store = await PostgresEventStore.open({ connectionString: url });
      try {
        const empty = await medianRate(sizes.runs, () => appendConcurrently(store, 1, sizes.appends));
        await fill(store, sizes.growthEvents);
        const grown = await medianRate(sizes.runs, () => appendConcurrently(store, 1, sizes.appends));
        return { empty, grown };
      } finally {
        await store.close();
      }
    });

    if (emmett) {
      rows.push(
        { benchmark: 'append, 1 writer', rate: ours.one, unit: 'appends/s', baseline: 'Emmett, 1 writer', baselineRate: emmett.one },
        { benchmark: 'append, 16 writers', rate: ours.sixteen, unit: 'appends/s', baseline: 'Emmett, 16 writers', baselineRate: emmett.sixteen },
      );
    }
    rows.push(
      { benchmark: 'append, 1 writer', rate: ours.one, unit: 'appends/s', baseline: 'plain INSERT loop, 1 connection', baselineRate: plain.one },
      { benchmark: 'append, 16 writers', rate: ours.sixteen, unit: 'appends/s', baseline: 'plain INSERT loop, 16 connections', baselineRate: plain.sixteen },
    );
    for (const { depth, rate } of pipelines) {
      rows.push(emmett
        ? { benchmark: `append, 16 writers, ${depth} batch${depth > 1 ? 'es' : ''} in flight`, rate, unit: 'appends/s', baseline: 'Emmett, 16 writers', baselineRate: emmett.sixteen }
        : { benchmark: `append, 16 writers, ${depth} batch${depth > 1 ? 'es' : ''} in flight`, rate, unit: 'appends/s', baseline: 'plain INSERT loop, 16 connections', baselineRate: plain.sixteen });
    }
    rows.push(
      { benchmark: `append, 1 writer, after ${sizes.growthEvents.toLocaleString('en')} events`, rate: growth.grown, unit: 'appends/s', baseline: 'the same store and connections on an empty log', baselineRate: growth.empty },
      { benchmark: 'read $all', rate: ours.read, unit: 'events/s', baseline: 'raw SELECT of the rows', baselineRate: ours.rawRead },
    );
    printRows('PostgreSQL event store', rows);
  } finally {
    await admin.end();
  }
}
