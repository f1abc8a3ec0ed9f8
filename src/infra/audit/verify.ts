import type { KeyObject } from 'node:crypto';
import type { EventStore, RecordedEvent } from '../event-store/port.ts';
import { chainHash } from './chain-hash.ts';
import { GENESIS_LINK, type ChainLink, type ChainStore, type SignedCheckpoint } from './chain-store.ts';
import { checkpointSignatureValid } from './checkpoint-signature.ts';
import { keyIdOf, toPublicKey } from './signing-key.ts';

export type VerifyFailureReason = 'hash-mismatch' | 'missing-event' | 'extra-event' | 'order' | 'bad-signature' | 'checkpoint-mismatch';

export type VerifyResult =
  | {
    ok: true;
    /** Sealed events whose hashes were recomputed and matched. */
    events: number;
    headSeq: number;
    headHash: string;
    /** Checkpoints whose signature was checked. */
    checkpoints: number;
    lastCheckpoint: { seq: number; position: string; hash: string; signedAt: string } | null;
    /** Events after the chain head, not sealed yet: nothing proves anything about them. */
    unsealedTail: number;
  }
  | { ok: false; seq: number; position: string | null; reason: VerifyFailureReason; detail: string };

export type PublicKeyInput = KeyObject | string;

export interface VerifyOptions {
  /** The raw log, as stored (ciphertext of personal fields). */
  log: EventStore;
  chain: ChainStore;
  /** The signer's public key (KeyObject or SPKI PEM); several when the signing key was rotated. */
  publicKey: PublicKeyInput | readonly PublicKeyInput[];
  /** Recompute from the first event (default), or trust the last signed checkpoint and go on from there. */
  from?: 'start' | 'last-checkpoint';
  /** Events and links read per query (default 1000): memory stays bounded whatever the log's size. */
  batchSize?: number;
}

type Failure = Extract<VerifyResult, { ok: false }>;
const fail = (seq: number, position: bigint | null, reason: VerifyFailureReason, detail: string): Failure =>
  ({ ok: false, seq, position: position === null ? null : position.toString(), reason, detail });

/** Pages through an ordered source; `peek` and `take` without holding more than one page. */
class Cursor<T> {
  private page: T[] = [];
  private index = 0;
  private done = false;
  private readonly fetch: () => Promise<T[]>;
  constructor(fetch: () => Promise<T[]>) {
    this.fetch = fetch;
  }
  async peek(): Promise<T | undefined> {
    if (this.index >= this.page.length && !this.done) {
      this.page = await this.fetch();
      this.index = 0;
      if (this.page.length === 0) this.done = true;
    }
    return this.page[this.index];
  }
  take(): void {
    this.index++;
  }
}

/**
 * Recomputes the chain from the stored events and compares it with the stored links and with every
 * signed checkpoint (ARCHITECTURE.md §11). Needs only the public key. Reports the first place where
 * log, links and checkpoints disagree. What it cannot see: events removed from the end together with
 * their links, after the last checkpoint (see docs/audit.md).
 */
export async function verifyChain(opts: VerifyOptions): Promise<VerifyResult> {
  const { log, chain } = opts;
  const batchSize = opts.batchSize ?? 1_000;
  const keys = new Map<string, KeyObject>();
  for (const input of Array.isArray(opts.publicKey) ? opts.publicKey : [opts.publicKey as PublicKeyInput]) {
    const key = toPublicKey(input);
    keys.set(keyIdOf(key), key);
  }

  const checkpoints = await chain.checkpoints();
  for (const checkpoint of checkpoints) {
    const key = keys.get(checkpoint.keyId);
    if (!key) {
      return fail(checkpoint.seq, checkpoint.position, 'bad-signature', `checkpoint at seq ${checkpoint.seq} names key ${checkpoint.keyId}, which is not the public key given`);
    }
    if (!checkpointSignatureValid(checkpoint, key)) {
      return fail(checkpoint.seq, checkpoint.position, 'bad-signature', `checkpoint at seq ${checkpoint.seq}: the signature does not match its seq, hash and time`);
    }
  }

  let start: ChainLink = GENESIS_LINK;
  const latest = checkpoints[checkpoints.length - 1];
  if (opts.from === 'last-checkpoint' && latest) {
    const [link] = await chain.links(latest.seq - 1, 1);
    if (!link || link.seq !== latest.seq) {
      return fail(latest.seq, latest.position, 'checkpoint-mismatch', `the chain has no link at seq ${latest.seq}, where the last checkpoint is`);
    }
    if (link.hash !== latest.hash || link.position !== latest.position) {
      return fail(latest.seq, link.position, 'checkpoint-mismatch', `link ${latest.seq} differs from the signed checkpoint there`);
    }
    start = link;
  }

  let afterSeq = start.seq;
  let afterPosition = start.position;
  const links = new Cursor<ChainLink>(async () => {
    const page = await chain.links(afterSeq, batchSize);
    if (page.length > 0) afterSeq = page[page.length - 1]!.seq;
    return page;
  });
  const events = new Cursor<RecordedEvent>(async () => {
    const page = await log.readAll({ after: afterPosition, maxCount: batchSize });
    if (page.length > 0) afterPosition = page[page.length - 1]!.position;
    return page;
  });
  const pending = checkpoints.filter((c) => c.seq > start.seq);
  let nextCheckpoint = 0;

  let previous = start;
  let hash: Buffer = Buffer.from(start.hash, 'hex');
  let verified = 0;
  for (;;) {
    const link = await links.peek();
    if (!link) break;
    if (link.seq !== previous.seq + 1) {
      return fail(previous.seq + 1, null, 'order', `the chain jumps from seq ${previous.seq} to seq ${link.seq}`);
    }
    if (link.position <= previous.position) {
      return fail(link.seq, link.position, 'order', `link ${link.seq} points at position ${link.position}, not after ${previous.position}`);
    }
    const event = await events.peek();
    if (!event || event.position > link.position) {
      return fail(link.seq, link.position, 'missing-event', `the event sealed at seq ${link.seq} (position ${link.position}) is not in the log`);
    }
    if (event.position < link.position) {
      return fail(link.seq, event.position, 'extra-event', `the log has an event at position ${event.position} that the chain never sealed (expected position ${link.position} next)`);
    }
    hash = chainHash(hash, event);
    const hex = hash.toString('hex');
    if (hex !== link.hash) {
      return fail(link.seq, link.position, 'hash-mismatch', `event ${event.id} at position ${event.position} does not hash to link ${link.seq}`);
    }
    links.take();
    events.take();
    verified++;
    previous = link;
    for (; nextCheckpoint < pending.length && pending[nextCheckpoint]!.seq <= link.seq; nextCheckpoint++) {
      const checkpoint = pending[nextCheckpoint]!;
      if (checkpoint.seq !== link.seq || checkpoint.hash !== hex || checkpoint.position !== link.position) {
        return fail(checkpoint.seq, checkpoint.position, 'checkpoint-mismatch', checkpointDetail(checkpoint, previous));
      }
    }
  }
  const beyond = pending[nextCheckpoint];
  if (beyond) {
    return fail(beyond.seq, beyond.position, 'checkpoint-mismatch',
      `a checkpoint was signed at seq ${beyond.seq}, but the chain ends at seq ${previous.seq}: sealed events and links were removed`);
  }
  let unsealedTail = 0;
  while (await events.peek()) {
    events.take();
    unsealedTail++;
  }
  const last = latest ? { seq: latest.seq, position: latest.position.toString(), hash: latest.hash, signedAt: latest.signedAt } : null;
  return { ok: true, events: verified, headSeq: previous.seq, headHash: previous.hash, checkpoints: checkpoints.length, lastCheckpoint: last, unsealedTail };
}

function checkpointDetail(checkpoint: SignedCheckpoint, link: ChainLink): string {
  if (checkpoint.hash !== link.hash) {
    return `the recomputed chain differs from the checkpoint signed at seq ${checkpoint.seq}: an event at or before it (after the previous checkpoint) was changed, with its links rewritten`;
  }
  return `the checkpoint at seq ${checkpoint.seq} points at position ${checkpoint.position}, the chain at ${link.position}`;
}
