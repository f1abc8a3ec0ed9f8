// The sealer's worker thread (sealer-thread.ts): its own connections to the log and the chain, so
// reading, canonicalising and hashing every event runs beside the writers instead of on their thread.
import { parentPort, workerData } from 'node:worker_threads';
import type { EventStore } from '../event-store/port.ts';
import { ChainConflictError, type ChainLink, type ChainStore } from './chain-store.ts';
import { sealNext } from './seal-batch.ts';

export type SealWorkerTarget =
  | { eventStore: 'sqlite'; path: string }
  | { eventStore: 'postgres'; url: string }
  // The log in KurrentDB, the chain in PostgreSQL.
  | { eventStore: 'kurrentdb'; url: string; chainUrl: string };
export interface SealRequest { id: number; head: { seq: number; position: string; hash: string }; batchSize: number }
export type SealReply =
  | { id: number; ok: true; head: { seq: number; position: string; hash: string }; count: number }
  | { id: number; ok: false; conflict: boolean; name: string; message: string };

async function openStores(target: SealWorkerTarget): Promise<{ log: EventStore; chain: ChainStore }> {
  if (target.eventStore === 'sqlite') {
    const [{ SqliteEventStore }, { SqliteChainStore }] = await Promise.all([
      import('../event-store/sqlite-event-store.ts'), import('./sqlite-chain-store.ts')]);
    return { log: new SqliteEventStore(target.path), chain: new SqliteChainStore(target.path) };
  }
  if (target.eventStore === 'kurrentdb') {
    const [{ KurrentDbEventStore }, { PostgresChainStore }] = await Promise.all([
      import('../event-store/kurrentdb-event-store.ts'), import('./postgres-chain-store.ts')]);
    const log = await KurrentDbEventStore.open({ connectionString: target.url });
    return { log, chain: await PostgresChainStore.open(target.chainUrl, { poolSize: 1 }) };
  }
  const [{ PostgresEventStore }, { PostgresChainStore }] = await Promise.all([
    import('../event-store/postgres-event-store.ts'), import('./postgres-chain-store.ts')]);
  const log = await PostgresEventStore.open({ connectionString: target.url, poolSize: 1 });
  return { log, chain: await PostgresChainStore.open(target.url, { poolSize: 1 }) };
}

const port = parentPort!;
const stores = openStores(workerData as SealWorkerTarget);
stores.catch(() => {}); // reported with the first request

const toWire = (link: ChainLink) => ({ seq: link.seq, position: link.position.toString(), hash: link.hash });

port.on('message', (message: SealRequest | 'close') => {
  if (message === 'close') {
    void stores.then(({ log, chain }) => Promise.all([log.close(), chain.close()]), () => {}).finally(() => port.close());
    return;
  }
  void (async (): Promise<SealReply> => {
    try {
      const { log, chain } = await stores;
      const head: ChainLink = { seq: message.head.seq, position: BigInt(message.head.position), hash: message.head.hash };
      const step = await sealNext(log, chain, head, message.batchSize);
      return { id: message.id, ok: true, head: toWire(step.head), count: step.count };
    } catch (error) {
      const { name, message: text } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      return { id: message.id, ok: false, conflict: error instanceof ChainConflictError, name, message: text };
    }
  })().then((reply) => port.postMessage(reply));
});
