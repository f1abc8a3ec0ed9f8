/**
 * Where the hash chain over the log is kept (ARCHITECTURE.md §11): one link per event, in the
 * chain's own gap-free sequence (seq 1, 2, 3 …), each pointing at the event's position in the store,
 * and Ed25519-signed checkpoints over the chain head. It lives beside the log (same SQLite file, same
 * PostgreSQL database), but the log never depends on it: it can always be recomputed, and verify
 * compares the recomputation with what is stored here.
 */

export interface ChainLink {
  /** 1, 2, 3 …: the event's place in the chain, without gaps. */
  seq: number;
  /** The event's position in the store it is sealed in. */
  position: bigint;
  /** hash_seq, 64 hex digits. */
  hash: string;
}

export interface SignedCheckpoint {
  seq: number;
  /** Where link `seq` points in this store; not signed (positions change on import). */
  position: bigint;
  hash: string;
  /** Base64 Ed25519 signature over checkpointMessage(seq, hash, signedAt). */
  signature: string;
  /** sha256 of the signer's public key (SPKI DER), hex: which key to verify it with. */
  keyId: string;
  /** ISO-8601 time of signing, covered by the signature. */
  signedAt: string;
}

/** The chain before its first link. */
export const GENESIS_LINK: ChainLink = { seq: 0, position: 0n, hash: '0'.repeat(64) };

/** appendLinks was given links that do not continue the stored head: another sealer wrote first. */
export class ChainConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainConflictError';
  }
}

export interface ChainStore {
  readonly kind: string;
  /** The last link, or GENESIS_LINK when nothing is sealed yet. */
  head(): Promise<ChainLink>;
  /**
   * Appends links atomically. They must be consecutive, start at head().seq + 1, and have positions
   * above the head's; otherwise nothing is written and ChainConflictError is thrown (two sealers can
   * never both write).
   */
  appendLinks(links: readonly ChainLink[]): Promise<void>;
  /** Links with seq > afterSeq, in order, at most `max`. */
  links(afterSeq: number, max: number): Promise<ChainLink[]>;
  /** Every checkpoint, in seq order. */
  checkpoints(): Promise<SignedCheckpoint[]>;
  latestCheckpoint(): Promise<SignedCheckpoint | null>;
  /** Stores a checkpoint; one per seq (a second one for the same seq is ignored). */
  putCheckpoint(checkpoint: SignedCheckpoint): Promise<void>;
  close(): Promise<void>;
}

/** Checks that `links` continue `head`; throws ChainConflictError otherwise. Shared by the adapters. */
export function checkContinues(head: ChainLink, links: readonly ChainLink[]): void {
  let previous = head;
  for (const link of links) {
    if (!Number.isSafeInteger(link.seq) || link.seq !== previous.seq + 1) {
      throw new ChainConflictError(`Chain link seq ${link.seq} does not follow ${previous.seq}: another sealer has written`);
    }
    if (link.position <= previous.position) {
      throw new ChainConflictError(`Chain link ${link.seq} points at position ${link.position}, not after ${previous.position}`);
    }
    if (!/^[0-9a-f]{64}$/.test(link.hash)) throw new Error(`Chain link ${link.seq} has a malformed hash`);
    previous = link;
  }
}
