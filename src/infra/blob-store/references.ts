import { createHash } from 'node:crypto';
import { InvalidBlobReferenceError } from './errors.ts';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Ids as the app makes them (UUIDs, derived ids): letters, digits and `_ - . :`, not starting with a dot. */
const OWNER_ID = /^[A-Za-z0-9_:-][A-Za-z0-9_.:-]{0,127}$/;

export function checkSha256(sha256: unknown): string {
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new InvalidBlobReferenceError('A blob hash must be 64 lowercase hexadecimal characters');
  }
  return sha256;
}

export function checkOwnerId(ownerId: unknown): string {
  if (typeof ownerId !== 'string' || !OWNER_ID.test(ownerId)) {
    throw new InvalidBlobReferenceError('An owner id must be 1 to 128 letters, digits or "_-.:", not starting with "."');
  }
  return ownerId;
}

export function checkMaxBytes(maxBytes: unknown): number {
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError('maxBytes must be a non-negative safe integer');
  }
  return maxBytes;
}

/**
 * What storage names the owner by: a hash of the id, so file names and rows do not show who owns
 * them. Not keyed: someone holding the storage who knows an owner's id can still find their blobs.
 */
export function ownerRef(ownerId: string): Buffer {
  return createHash('sha256').update('evident-blob-owner:v1\0').update(ownerId).digest();
}

/** What storage names a blob by: a hash of owner and content hash, so the plaintext hash is not shown either. */
export function blobRef(ownerId: string, sha256: string): Buffer {
  return createHash('sha256').update('evident-blob-name:v1\0').update(ownerId).update('\0').update(sha256).digest();
}
