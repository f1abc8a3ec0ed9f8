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
import { median, medianRate, printRows, type Row } from './measure.ts';

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

/** Reads the whole log in pages of 1,000; returns how many events it holds. */
export async function readEverything(store: EventStore): Promise<number> {
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

/** Fresh databases for one benchmark (never the tests'), dropped with their connections afterwards. */
class Databases {
  private readonly names: string[] = [];
  private readonly admin: pg.Client;
  private readonly databaseUrl: string;
  constructor(admin: pg.Client, databaseUrl: string) {
    this.admin = admin;
    this.databaseUrl = databaseUrl;
  }

  async create(): Promise<string> {
    const name = `evident_bench_${Date.now()}_${this.names.length}`;
    await this.admin.query(`CREATE DATABASE ${name}`);
    this.names.push(name);
    const url = new URL(this.databaseUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async dropAll(): Promise<void> {
    for (const name of this.names) await this.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/**
 * Medians of `runs` rounds in which every contender runs once, in turn: a load that comes and goes on
 * the machine then touches all of them alike, and the ratios between them stay meaningful.
 */
async function interleavedMedians<K extends string>(runs: number, work: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  const rates = Object.fromEntries(Object.keys(work).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let run = 0; run < runs; run++) {
    for (const key of Object.keys(work) as K[]) {
      const started = process.hrtime.bigint();
      const operations = await work[key]();
      rates[key].push(operations / (Number(process.hrtime.bigint() - started) / 1e9));
    }
  }
  return Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v as number[])])) as Record<K, number>;
}

export interface PostgresSizes extends Sizes {
  /** Events in the log before the second one-writer measurement (the "after 100k events"). */
  growthEvents: number;
}

const PIPELINES = [1, 2, 3, 4] as const;

/**
 * PostgreSQL, all in one run and in fresh databases: our appends against Emmett's and a plain INSERT
 * loop at 1 and 16 writers (interleaved rounds), the number of group-commit batches in flight, one
 * writer on an empty log against the same store and connections after `growthEvents` events, and $all reads.
 */
export async function benchPostgres(sizes: PostgresSizes, databaseUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const databases = new Databases(admin, databaseUrl);
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const sixteenTotal = sizes.appends * 4;
    const payload = JSON.stringify(event(0).data);

    const plainUrl = await databases.create();
    const clients = await Promise.all(Array.from({ length: 16 }, async () => {
      const client = new pg.Client({ connectionString: plainUrl });
      client.on('error', () => { /* dropped with the database */ });
      await client.connect();
      closers.push(() => client.end());
      return client;
    }));
    await clients[0]!.query('CREATE TABLE plain_inserts (id bigserial PRIMARY KEY, data jsonb NOT NULL)');

    const loaded = await loadEmmett();
    let emmett: EmmettStore | undefined;
    if (loaded) {
      const url = await databases.create();
      const pool = new loaded.Pool({ connectionString: url, max: 20 });
      pool.on('error', () => { /* dropped with the database */ });
      emmett = loaded.emmett.getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
      const store = emmett;
      closers.push(async () => { await store.close(); await pool.end().catch(() => {}); });
      await emmettConcurrently(emmett, 1, 10); // creates its schema
    } else {
      console.log('\n(Emmett skipped: bench/emmett could not be installed with npm ci)');
    }

    const oursUrl = await databases.create();
    const ours = await PostgresEventStore.open({ connectionString: oursUrl });
    closers.push(() => ours.close());
    const piped = new Map<number, PostgresEventStore>();
    for (const depth of PIPELINES) {
      const store = await PostgresEventStore.open({ connectionString: await databases.create(), pipeline: depth });
      closers.push(() => store.close());
      piped.set(depth, store);
    }

    const work: Record<string, () => Promise<number>> = {
      plain1: () => insertConcurrently(clients.slice(0, 1), sizes.appends, payload),
      plain16: () => insertConcurrently(clients, sixteenTotal, payload),
      ours1: () => appendConcurrently(ours, 1, sizes.appends),
      ours16: () => appendConcurrently(ours, 16, sixteenTotal),
    };
    if (emmett) {
      const store = emmett;
      work.emmett1 = () => emmettConcurrently(store, 1, sizes.appends);
      work.emmett16 = () => emmettConcurrently(store, 16, sixteenTotal);
    }
    for (const [depth, store] of piped) work[`piped${depth}`] = () => appendConcurrently(store, 16, sixteenTotal);
    const rate = await interleavedMedians(sizes.runs, work);

    await fill(ours, sizes.readEvents);
    const read = await medianRate(sizes.runs, () => readEverything(ours));
    const raw = new pg.Client({ connectionString: oursUrl });
    await raw.connect();
    const rawSelect = await medianRate(sizes.runs, async () => (await raw.query('SELECT * FROM evident_events ORDER BY global_position')).rowCount ?? 0);
    await raw.end();

    // The same store and connections, first on an empty log, then after growthEvents events.
    const grown = await PostgresEventStore.open({ connectionString: await databases.create() });
    closers.push(() => grown.close());
    const emptyRate = await medianRate(sizes.runs, () => appendConcurrently(grown, 1, sizes.appends));
    await fill(grown, sizes.growthEvents);
    // And in rounds against a fresh store on an empty log, so that load arriving meanwhile shows as such.
    const fresh = await PostgresEventStore.open({ connectionString: await databases.create() });
    closers.push(() => fresh.close());
    const after = await interleavedMedians(sizes.runs, {
      grown: () => appendConcurrently(grown, 1, sizes.appends),
      fresh: () => appendConcurrently(fresh, 1, sizes.appends),
    });

    const rows: Row[] = [];
    if (emmett) {
      rows.push(
        { benchmark: 'append, 1 writer', rate: rate.ours1!, unit: 'appends/s', baseline: 'Emmett, 1 writer', baselineRate: rate.emmett1! },
        { benchmark: 'append, 16 writers', rate: rate.ours16!, unit: 'appends/s', baseline: 'Emmett, 16 writers', baselineRate: rate.emmett16! },
      );
    }
    rows.push(
      { benchmark: 'append, 1 writer', rate: rate.ours1!, unit: 'appends/s', baseline: 'plain INSERT loop, 1 connection', baselineRate: rate.plain1! },
      { benchmark: 'append, 16 writers', rate: rate.ours16!, unit: 'appends/s', baseline: 'plain INSERT loop, 16 connections', baselineRate: rate.plain16! },
    );
    for (const depth of PIPELINES) {
      const benchmark = `append, 16 writers, ${depth} batch${depth > 1 ? 'es' : ''} in flight`;
      rows.push(emmett
        ? { benchmark, rate: rate[`piped${depth}`]!, unit: 'appends/s', baseline: 'Emmett, 16 writers', baselineRate: rate.emmett16! }
        : { benchmark, rate: rate[`piped${depth}`]!, unit: 'appends/s', baseline: 'plain INSERT loop, 16 connections', baselineRate: rate.plain16! });
    }
    rows.push(
      { benchmark: `append, 1 writer, after ${sizes.growthEvents.toLocaleString('en')} events`, rate: after.grown, unit: 'appends/s', baseline: 'the same store and connections on an empty log, before', baselineRate: emptyRate },
      { benchmark: `append, 1 writer, after ${sizes.growthEvents.toLocaleString('en')} events`, rate: after.grown, unit: 'appends/s', baseline: 'a fresh store on an empty log, same rounds', baselineRate: after.fresh },
      { benchmark: 'read $all', rate: read, unit: 'events/s', baseline: 'raw SELECT of the rows', baselineRate: rawSelect },
    );
    printRows('PostgreSQL event store', rows);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await databases.dropAll();
    await admin.end();
  }
}
