import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import type { SubjectKey } from '../personal-data/codec.ts';
import { BlobUnreadableError } from './errors.ts';
import type { StoredBlob } from './port.ts';

/**
 * The encrypted blob format, version 1 (docs/blob-store.md):
 *
 *   header  = "EVBL" | version (1) | log2 segment size (1) | kid length (1) | kid | salt (32)
 *             | plaintext size (uint64 BE) | commitment (32)
 *   segment = AES-256-GCM ciphertext of up to SEGMENT_BYTES plaintext bytes | tag (16)
 *
 * The blob key is HKDF-SHA256(owner's 'blob' subject key, salt, owner id): a fresh key per blob, so
 * nonces can be the segment index. Each segment's additional data binds the header prefix, its index
 * and whether it is the last, so segments cannot be reordered, dropped or cut short unnoticed. The
 * commitment, an HMAC under a second derived key over the header and the plaintext SHA-256, ties the
 * ciphertext to the owner and hash it is stored under; it is checked before any byte is yielded.
 * There is always at least one segment (an empty blob is one empty final segment).
 */

export const SEGMENT_BYTES = 64 * 1024;
export const TAG_BYTES = 16;
export const KEY_PURPOSE = 'blob';
/** Longer than any version-1 header; enough to read a header in one go. */
export const MAX_HEADER_BYTES = 7 + 255 + 32 + 8 + 32;

const MAGIC = Buffer.from('EVBL', 'latin1');
const VERSION = 1;
const SEGMENT_LOG2 = 16;
const SALT_BYTES = 32;
const PREFIX_FIXED = 7; // magic, version, log2 segment size, kid length

/** Where blob keys come from: PersonalDataCodec fits. */
export interface SubjectKeys {
  subjectKeyForWriting(subjectId: string, purpose: string): Promise<SubjectKey>;
  subjectKeyForReading(subjectId: string, kid: string, purpose: string): Promise<SubjectKey | undefined>;
}

interface BlobKeys {
  encryption: Buffer;
  commitment: Buffer;
}

function blobKeys(subjectKey: Buffer, salt: Buffer, ownerId: string): BlobKeys {
  const info = Buffer.from(`evident-blob:v1\0${ownerId}`, 'utf8');
  const material = Buffer.from(hkdfSync('sha256', subjectKey, salt, info, 64));
  return { encryption: material.subarray(0, 32), commitment: material.subarray(32) };
}

function nonce(index: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(index), 0);
  return iv;
}

function segmentAad(headerPrefix: Buffer, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail[8] = final ? 1 : 0;
  return Buffer.concat([Buffer.from('evident-blob-segment:v1\0'), headerPrefix, tail]);
}

function commitment(keys: BlobKeys, headerWithoutCommitment: Buffer, sha256: string): Buffer {
  return createHmac('sha256', keys.commitment)
    .update('evident-blob-commitment:v1\0').update(headerWithoutCommitment).update(Buffer.from(sha256, 'hex')).digest();
}

/** Stored length of the header whose first bytes are `prefix` (at least 7), or undefined if they are not one. */
export function headerLength(prefix: Buffer): number | undefined {
  if (prefix.length < PREFIX_FIXED || !prefix.subarray(0, 4).equals(MAGIC) || prefix[4] !== VERSION || prefix[5] !== SEGMENT_LOG2) return undefined;
  const kidLength = prefix[6]!;
  if (kidLength === 0) return undefined;
  return PREFIX_FIXED + kidLength + SALT_BYTES + 8 + 32;
}

/** How many segments a blob of `size` plaintext bytes has, and how long stored segment `index` is. */
export function segmentCount(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / SEGMENT_BYTES);
}
export function storedSegmentLength(size: number, index: number): number {
  const count = segmentCount(size);
  return (index < count - 1 ? SEGMENT_BYTES : size - (count - 1) * SEGMENT_BYTES) + TAG_BYTES;
}
export function storedBytes(size: number): number {
  return size + segmentCount(size) * TAG_BYTES;
}

/**
 * Encrypts one blob as it streams in. `push` returns the segments that are complete (a segment is
 * sealed only once the next byte arrives, since the last one is marked final); `finish` seals the
 * last segment and builds the header, which the store writes in front of the segments.
 */
export class BlobSealer {
  readonly headerBytes: number;
  private readonly keys: BlobKeys;
  private readonly prefix: Buffer;
  private readonly hash: Hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;
  private size = 0;

  private constructor(keys: BlobKeys, prefix: Buffer) {
    this.keys = keys;
    this.prefix = prefix;
    this.headerBytes = prefix.length + 8 + 32;
  }

  /** Throws SubjectErasedError (from the key store) when the owner has been erased. */
  static async start(keys: SubjectKeys, ownerId: string): Promise<BlobSealer> {
    const subjectKey = await keys.subjectKeyForWriting(ownerId, KEY_PURPOSE);
    const kid = Buffer.from(subjectKey.kid, 'utf8');
    if (kid.length === 0 || kid.length > 255) throw new Error('A key id must be 1 to 255 bytes');
    const salt = randomBytes(SALT_BYTES);
    const prefix = Buffer.concat([MAGIC, Buffer.from([VERSION, SEGMENT_LOG2, kid.length]), kid, salt]);
    return new BlobSealer(blobKeys(subjectKey.key, salt, ownerId), prefix);
  }

  /** Plaintext bytes pushed so far. */
  get plaintextBytes(): number {
    return this.size;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length === 0) return [];
    const bytes = Buffer.from(chunk); // a copy: a source may reuse its buffer once it has yielded it
    this.hash.update(bytes);
    this.size += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    const sealed: Buffer[] = [];
    while (this.pendingBytes > SEGMENT_BYTES) sealed.push(this.seal(this.take(SEGMENT_BYTES), false));
    return sealed;
  }

  finish(): { finalSegment: Buffer; header: Buffer; blob: StoredBlob } {
    const finalSegment = this.seal(this.take(this.pendingBytes), true);
    const sha256 = this.hash.digest('hex');
    const sizeField = Buffer.alloc(8);
    sizeField.writeBigUInt64BE(BigInt(this.size));
    const unsigned = Buffer.concat([this.prefix, sizeField]);
    const header = Buffer.concat([unsigned, commitment(this.keys, unsigned, sha256)]);
    return { finalSegment, header, blob: { sha256, size: this.size } };
  }

  private take(bytes: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const taken = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return taken;
  }

  private seal(plaintext: Buffer, final: boolean): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.keys.encryption, nonce(this.index), { authTagLength: TAG_BYTES });
    cipher.setAAD(segmentAad(this.prefix, this.index, final));
    this.index++;
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }
}

/**
 * Decrypts one stored blob. `open` checks the header (key id, commitment to owner and hash) before
 * anything is decrypted; `segment` must then be given the stored segments in order, and `finish`
 * confirms that all of them came and that the plaintext hashes to the expected value.
 */
export class BlobOpener {
  readonly size: number;
  readonly segmentCount: number;
  private readonly keys: BlobKeys;
  private readonly prefix: Buffer;
  private readonly sha256: string;
  private readonly hash: Hash = createHash('sha256');
  private next = 0;

  private constructor(keys: BlobKeys, prefix: Buffer, size: number, sha256: string) {
    this.keys = keys;
    this.prefix = prefix;
    this.size = size;
    this.sha256 = sha256;
    this.segmentCount = segmentCount(size);
  }

  static async open(keys: SubjectKeys, ownerId: string, sha256: string, header: Buffer): Promise<BlobOpener> {
    const length = headerLength(header);
    if (length === undefined || header.length !== length) throw new BlobUnreadableError('corrupt', 'bad header');
    const kidLength = header[6]!;
    const prefix = header.subarray(0, PREFIX_FIXED + kidLength + SALT_BYTES);
    const kid = header.subarray(PREFIX_FIXED, PREFIX_FIXED + kidLength).toString('utf8');
    const salt = header.subarray(PREFIX_FIXED + kidLength, prefix.length);
    const size = header.readBigUInt64BE(prefix.length);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new BlobUnreadableError('corrupt', 'bad header');
    const subjectKey = await keys.subjectKeyForReading(ownerId, kid, KEY_PURPOSE);
    if (!subjectKey) throw new BlobUnreadableError('erased');
    const derived = blobKeys(subjectKey.key, salt, ownerId);
    const expected = commitment(derived, header.subarray(0, prefix.length + 8), sha256);
    if (!timingSafeEqual(expected, header.subarray(prefix.length + 8))) {
      throw new BlobUnreadableError('corrupt', 'not the blob of this owner and hash');
    }
    return new BlobOpener(derived, Buffer.from(prefix), Number(size), sha256);
  }

  /** Stored bytes after the header. */
  get storedBytes(): number {
    return storedBytes(this.size);
  }

  storedSegmentLength(index: number): number {
    return storedSegmentLength(this.size, index);
  }

  /** The plaintext of the next stored segment; BlobUnreadableError if it does not authenticate. */
  segment(sealed: Buffer): Buffer {
    const index = this.next;
    if (index >= this.segmentCount || sealed.length !== this.storedSegmentLength(index)) {
      throw new BlobUnreadableError('corrupt', 'segments missing or cut short');
    }
    const final = index === this.segmentCount - 1;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keys.encryption, nonce(index), { authTagLength: TAG_BYTES });
      decipher.setAAD(segmentAad(this.prefix, index, final));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      plaintext = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new BlobUnreadableError('corrupt', `segment ${index} failed authentication`);
    }
    this.next++;
    this.hash.update(plaintext);
    return plaintext;
  }

  finish(): void {
    if (this.next !== this.segmentCount) throw new BlobUnreadableError('corrupt', 'segments missing');
    if (this.hash.digest('hex') !== this.sha256) throw new BlobUnreadableError('corrupt', 'content hash differs');
  }
}
