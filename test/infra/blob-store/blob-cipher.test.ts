import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobOpener, BlobSealer, SEGMENT_BYTES, TAG_BYTES, headerLength, segmentCount, storedBytes, storedSegmentLength,
} from '../../../src/infra/blob-store/blob-cipher.ts';
import { BlobUnreadableError } from '../../../src/infra/blob-store/errors.ts';
import { PersonalDataCodec } from '../../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';

function seal(sealer: BlobSealer, bytes: Buffer, chunk = 10_000) {
  const segments: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunk) segments.push(...sealer.push(bytes.subarray(offset, offset + chunk)));
  const { finalSegment, header, blob } = sealer.finish();
  return { segments: [...segments, finalSegment], header, blob };
}

describe('blob cipher', () => {
  let keyStore: SqliteKeyStore;
  let keys: PersonalDataCodec;
  beforeEach(() => {
    keyStore = new SqliteKeyStore(':memory:');
    keys = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
  });
  afterEach(async () => {
    await keyStore.close();
  });

  it('cuts segments at the boundaries and always has a final one', () => {
    expect([0, 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 2 * SEGMENT_BYTES].map(segmentCount)).toEqual([1, 1, 1, 2, 2]);
    expect(storedSegmentLength(0, 0)).toBe(TAG_BYTES);
    expect(storedSegmentLength(SEGMENT_BYTES + 1, 0)).toBe(SEGMENT_BYTES + TAG_BYTES);
    expect(storedSegmentLength(SEGMENT_BYTES + 1, 1)).toBe(1 + TAG_BYTES);
    expect(storedBytes(SEGMENT_BYTES + 1)).toBe(SEGMENT_BYTES + 1 + 2 * TAG_BYTES);
  });

  it.each([0, 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES - 1])('seals and opens %i bytes', async (size) => {
    const bytes = randomBytes(size);
    const { segments, header, blob } = seal(await BlobSealer.start(keys, 'u1'), bytes);
    expect(blob).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size });
    expect(segments.map((s) => s.length)).toEqual(Array.from({ length: segmentCount(size) }, (_, i) => storedSegmentLength(size, i)));
    expect(headerLength(header)).toBe(header.length);
    const opener = await BlobOpener.open(keys, 'u1', blob.sha256, header);
    expect(opener.size).toBe(size);
    const plain = Buffer.concat(segments.map((s) => opener.segment(s)));
    opener.finish();
    expect(plain.equals(bytes)).toBe(true);
  });

  it('uses a fresh key for every blob: the same bytes never encrypt alike', async () => {
    const bytes = randomBytes(100);
    const a = seal(await BlobSealer.start(keys, 'u1'), bytes);
    const b = seal(await BlobSealer.start(keys, 'u1'), bytes);
    expect(a.blob).toEqual(b.blob);
    expect(a.segments[0]!.equals(b.segments[0]!)).toBe(false);
  });

  it('refuses the header under another hash or owner, before decrypting anything', async () => {
    const { header, blob } = seal(await BlobSealer.start(keys, 'u1'), randomBytes(100));
    const otherHash = createHash('sha256').update('other').digest('hex');
    await expect(BlobOpener.open(keys, 'u1', otherHash, header)).rejects.toThrow(BlobUnreadableError);
    await keys.subjectKeyForWriting('u2', 'blob');
    await expect(BlobOpener.open(keys, 'u2', blob.sha256, header)).rejects.toThrow(BlobUnreadableError);
  });

  it('refuses segments out of order, missing, or one too many', async () => {
    const bytes = randomBytes(2 * SEGMENT_BYTES + 10);
    const { segments, header, blob } = seal(await BlobSealer.start(keys, 'u1'), bytes);
    const swapped = await BlobOpener.open(keys, 'u1', blob.sha256, header);
    expect(() => swapped.segment(segments[1]!)).toThrow(BlobUnreadableError);
    const short = await BlobOpener.open(keys, 'u1', blob.sha256, header);
    short.segment(segments[0]!);
    short.segment(segments[1]!);
    expect(() => short.finish()).toThrow(/segments missing/);
    const long = await BlobOpener.open(keys, 'u1', blob.sha256, header);
    for (const s of segments) long.segment(s);
    expect(() => long.segment(segments[2]!)).toThrow(BlobUnreadableError);
  });

  it('reads a malformed header as unreadable, and an erased owner as erased', async () => {
    const { header, blob } = seal(await BlobSealer.start(keys, 'u1'), randomBytes(10));
    for (const bad of [Buffer.alloc(0), header.subarray(0, 20), Buffer.concat([Buffer.from('XXXX'), header.subarray(4)])]) {
      await expect(BlobOpener.open(keys, 'u1', blob.sha256, bad)).rejects.toThrow(/bad header/);
    }
    await keys.erase('u1');
    const error = await BlobOpener.open(keys, 'u1', blob.sha256, header).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlobUnreadableError);
    expect((error as BlobUnreadableError).reason).toBe('erased');
  });
});
