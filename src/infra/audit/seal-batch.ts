import type { EventStore } from '../event-store/port.ts';
import { chainHash } from './chain-hash.ts';
import type { ChainLink, ChainStore } from './chain-store.ts';

/** One step of sealing: the links for the events after `head`, written; what the chain head became. */
export interface SealStep {
  head: ChainLink;
  /** Events sealed in this step (0: the chain had caught up with the log). */
  count: number;
}

/** Seals in steps: in this thread (SealInThread) or in a worker thread of its own (SealerThread). */
export interface BatchSealer {
  /** Reads at most `batchSize` events after `head`, links them and appends the links (ChainConflictError if another sealer wrote). */
  sealNext(head: ChainLink, batchSize: number): Promise<SealStep>;
  close(): Promise<void>;
}

export async function sealNext(log: EventStore, chain: ChainStore, head: ChainLink, batchSize: number): Promise<SealStep> {
  const events = await log.readAll({ after: head.position, maxCount: batchSize });
  if (events.length === 0) return { head, count: 0 };
  let hash: Buffer = Buffer.from(head.hash, 'hex');
  const links = events.map((event, i): ChainLink => {
    hash = chainHash(hash, event);
    return { seq: head.seq + i + 1, position: event.position, hash: hash.toString('hex') };
  });
  await chain.appendLinks(links);
  return { head: links[links.length - 1]!, count: links.length };
}

/** Seals on the caller's thread, with the stores it was given. */
export class SealInThread implements BatchSealer {
  private readonly log: EventStore;
  private readonly chain: ChainStore;

  constructor(log: EventStore, chain: ChainStore) {
    this.log = log;
    this.chain = chain;
  }

  sealNext(head: ChainLink, batchSize: number): Promise<SealStep> {
    return sealNext(this.log, this.chain, head, batchSize);
  }

  async close(): Promise<void> {}
}
