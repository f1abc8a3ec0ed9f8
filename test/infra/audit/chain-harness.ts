import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { ChainStore } from '../../../src/infra/audit/chain-store.ts';
import { PostgresChainStore } from '../../../src/infra/audit/postgres-chain-store.ts';
import { SqliteChainStore } from '../../../src/infra/audit/sqlite-chain-store.ts';
import type { SealWorkerTarget } from '../../../src/infra/audit/seal-worker.ts';
import type { EventStore } from '../../../src/infra/event-store/port.ts';
import { PostgresEventStore } from '../../../src/infra/event-store/postgres-event-store.ts';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { ChainSealer, type ChainSealerOptions } from '../../../src/projections/chain-sealer.ts';
import { createTestDatabase } from '../../support/postgres.ts';
import { testLogger } from '../../projections/runner.contract.ts';

/** A raw log and its chain store on one adapter, plus direct SQL on the stored rows (the attacker's view). */
export interface ChainHarness {
  kind: 'sqlite' | 'postgres';
  log: EventStore;
  chain: ChainStore;
  /** Runs SQL straight on the database (SQLite `?` or PostgreSQL `$1` placeholders). */
  sql(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Table and column names of the events and links tables. */
  names: { events: string; position: string; data: string; links: string; checkpoints: string };
  /**
   * Resolves once every row appended so far is readable. PostgreSQL shows a row only after every
   * older transaction in the cluster has finished, and other suites keep transactions open.
   */
  visible(): Promise<void>;
  /** Where a SealerThread finds the same log and chain. */
  target: SealWorkerTarget;
  /** A second chain store over the same storage (another instance). */
  openChain(): Promise<ChainStore>;
  dispose(): Promise<void>;
}

export async function sqliteHarness(): Promise<ChainHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-chain-'));
  const file = join(dir, 'events.sqlite');
  const log = new SqliteEventStore(file);
  const chain = new SqliteChainStore(file);
  const db = new DatabaseSync(file);
  db.exec('PRAGMA busy_timeout = 10000');
  const others: ChainStore[] = [];
  return {
    kind: 'sqlite', log, chain, target: { eventStore: 'sqlite', path: file },
    async sql(text, params = []) {
      return db.prepare(text).all(...(params as Array<string | number | bigint | null | Uint8Array>)) as Array<Record<string, unknown>>;
    },
    names: { events: 'events', position: 'position', data: 'data', links: 'chain_links', checkpoints: 'chain_checkpoints' },
    visible: async () => {},
    async openChain() {
      const other = new SqliteChainStore(file);
      others.push(other);
      return other;
    },
    async dispose() {
      for (const other of others) await other.close();
      await chain.close();
      await log.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function postgresHarness(): Promise<ChainHarness> {
  const database = await createTestDatabase();
  const log = await PostgresEventStore.open({ connectionString: database.url });
  const chain = await PostgresChainStore.open(database.url);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const others: ChainStore[] = [];
  return {
    kind: 'postgres', log, chain, target: { eventStore: 'postgres', url: database.url },
    async sql(text, params = []) {
      return (await client.query(text, params)).rows as Array<Record<string, unknown>>;
    },
    names: { events: 'evident_events', position: 'global_position', data: 'data', links: 'evident_chain_links', checkpoints: 'evident_chain_checkpoints' },
    async visible() {
      const { rows } = await client.query<{ head: string }>('SELECT COALESCE(MAX(global_position), 0)::text AS head FROM evident_events');
      const head = BigInt(rows[0]!.head);
      const deadline = Date.now() + 30_000;
      while ((await log.headPosition()) < head) {
        if (Date.now() > deadline) throw new Error('appended rows did not become readable within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async openChain() {
      const other = await PostgresChainStore.open(database.url);
      others.push(other);
      return other;
    },
    async dispose() {
      for (const other of others) await other.close();
      await chain.close();
      await log.close();
      await client.end();
      await database.drop();
    },
  };
}

export const freeLease = { tryLease: async () => ({ lost: new AbortController().signal, release: async () => {} }) };

export function signingKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/** Runs a sealer until the chain covers the log's head, then stops it. */
export async function sealAll(log: EventStore, chain: ChainStore, key: KeyObject, options: Partial<ChainSealerOptions> = {}): Promise<void> {
  const sealer = new ChainSealer({
    log, chain, signingKey: key, leases: freeLease, logger: testLogger().logger, idlePollMs: 10, checkpointIntervalMs: 0, ...options,
  });
  sealer.start();
  try {
    const head = await log.headPosition();
    if (!(await sealer.waitFor(head, 30_000))) throw new Error('the sealer did not reach the head within 30 s');
  } finally {
    await sealer.stop();
  }
}
