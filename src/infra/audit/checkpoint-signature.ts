import { sign, verify, type KeyObject } from 'node:crypto';
import type { ChainLink, SignedCheckpoint } from './chain-store.ts';
import { keyIdOf } from './signing-key.ts';

/**
 * What a checkpoint's signature covers: the chain's seq, its hash there, and the signing time. The
 * store position is not signed: the hash already fixes every event up to seq and their order, and
 * positions change when a log is exported and imported elsewhere, where the checkpoints must stay valid.
 */
export function checkpointMessage(seq: number, hash: string, signedAt: string): Buffer {
  return Buffer.from(`evident-chain-checkpoint/v1\n${seq}\n${hash}\n${signedAt}`, 'utf8');
}

export function signCheckpoint(privateKey: KeyObject, link: ChainLink, signedAt: Date, keyId = keyIdOf(privateKey)): SignedCheckpoint {
  const at = signedAt.toISOString();
  const signature = sign(null, checkpointMessage(link.seq, link.hash, at), privateKey).toString('base64');
  return { seq: link.seq, position: link.position, hash: link.hash, signature, keyId, signedAt: at };
}

/** True when the signature is valid for `publicKey` (an Ed25519 public KeyObject). */
export function checkpointSignatureValid(checkpoint: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointMessage(checkpoint.seq, checkpoint.hash, checkpoint.signedAt), publicKey,
      Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}
