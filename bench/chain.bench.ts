import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ChainStore } from '../src/infra/audit/chain-store.ts';
import { PostgresChainStore } from '../src/infra/audit/postgres-chain-store.ts';
import { SqliteChainStore } from '../src/infra/audit/sqlite-chain-store.ts';
import type { SealWorkerTarget } from '../src/infra/audit/seal-worker.ts';
import { SealerThread } from '../src/infra/audit/sealer-thread.ts';
import { verifyChain } from '../src/infra/audit/verify.ts';
import { PostgresEventStore } from '../src/infra/event-store/postgres-event-store.ts';
import type { EventStore, NewEvent } from '../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../src/infra/ids.ts';
import { ChainSealer } from '../src/projections/chain-sealer.ts';
import { median, printRows } from './measure.ts';
import { withTempDatabase } from './temp-database.ts';

export interface ChainSizes { runs: number; appends: number; readEvents: number }

const freeLease = { tryLease: async () => ({ lost: new AbortController().signal, release: async () => {} }) };

function event(i: number): NewEvent {
  return {
    id: uuidv7(), type: 'BenchEvent', schemaVersion: 1,
    data: { i, text: { v: 1, c: 'c2hvcnQgY2lwaGVydGV4dCBvZiBhIGNoYXQgdHVybg==' } },
    metadata: { actorId: 'bench', correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date().toISOString() },
  };
}

async function appendRate(store: EventStore, writers: number, total: number): Promise<number> {
  const perWriter = Math.ceil(total / writers);
  const run = uuidv7();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) await store.append(`bench-${run}-${w}`, [event(i)]);
  }));
  return (perWriter * writers) / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function readRate(store: EventStore): Promise<number> {
  const started = process.hrtime.bigint();
  let after = 0n;
  let count = 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 1000 });
    if (batch.length === 0) break;
    count += batch.length;
    after = batch[batch.length - 1]!.position;
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Appends with and without the sealer running, alternating runs so that drift hits both alike; then
 * verify over everything appended, against a plain read of $all.
 */
async function measure(title: string, log: EventStore, chain: ChainStore, target: SealWorkerTarget, sizes: ChainSizes): Promise<void> {
  const signingKey = generateKeyPairSync('ed25519').privateKey;
  const logger = pino({ level: 'silent' });
  const without: number[] = [];
  const withSealer: number[] = [];
  // Long runs, two more than elsewhere: a 10 % effect is smaller than the run-to-run noise of short
  // runs on a 2-core machine.
  const appendRuns = sizes.runs + 2;
  const perRun = sizes.appends * 10;
  for (let run = 0; run < appendRuns; run++) {
    without.push(await appendRate(log, 16, perRun));
    // As the app runs it: reading and hashing in the sealer's own thread.
    const sealer = new ChainSealer({ log, chain, signingKey, leases: freeLease, logger, batches: new SealerThread(target) });
    sealer.start();
    // First the backlog of the run without it: what is measured is the sealer keeping up, as in service.
    await sealer.waitFor(await log.headPosition(), 120_000);
    withSealer.push(await appendRate(log, 16, perRun));
    await sealer.waitFor(await log.headPosition(), 120_000);
    await sealer.stop();
  }
  for (let i = 0; i < sizes.readEvents; i += 100) await log.append(`fill-${uuidv7()}`, Array.from({ length: 100 }, (_, k) => event(i + k)));
  const sealer = new ChainSealer({ log, chain, signingKey, leases: freeLease, logger, checkpointIntervalMs: 0 });
  sealer.start();
  await sealer.waitFor(await log.headPosition(), 300_000);
  await sealer.stop();
  const reads: number[] = [];
  const verifies: number[] = [];
  for (let run = 0; run < sizes.runs; run++) {
    reads.push(await readRate(log));
    const started = process.hrtime.bigint();
    const result = await verifyChain({ log, chain, publicKey: signingKey });
    if (!result.ok) throw new Error(`verify failed in the benchmark: ${result.detail}`);
    verifies.push(result.events / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  printRows(title, [
    { benchmark: 'append, 16 writers, sealer running', rate: median(withSealer), unit: 'appends/s', baseline: 'same, no sealer', baselineRate: median(without) },
    { benchmark: 'verify (recompute, links, signatures)', rate: median(verifies), unit: 'events/s', baseline: 'read $all', baselineRate: median(reads) },
  ]);
}

export async function benchChain(sizes: ChainSizes, databaseUrl = process.env.DATABASE_URL): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-chain-'));
  try {
    const file = join(dir, 'events.sqlite');
    const log = new SqliteEventStore(file);
    const chain = new SqliteChainStore(file);
    await measure('Tamper evidence, SQLite (hash chain sealed behind the writers)', log, chain, { eventStore: 'sqlite', path: file }, sizes);
    await chain.close();
    await log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!databaseUrl) {
    console.log('\n## Tamper evidence, PostgreSQL: skipped, DATABASE_URL is not set');
    return;
  }
  await withTempDatabase(databaseUrl, 'chain', async (url) => {
    const log = await PostgresEventStore.open({ connectionString: url });
    const chain = await PostgresChainStore.open(url);
    await measure('Tamper evidence, PostgreSQL (hash chain sealed behind the writers)', log, chain, { eventStore: 'postgres', url }, sizes);
    await chain.close();
    await log.close();
  });
}
