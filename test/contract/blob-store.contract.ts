import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEGMENT_BYTES } from '../../src/infra/blob-store/blob-cipher.ts';
import {
  BlobNotFoundError, BlobStoreClosedError, BlobTooLargeError, BlobUnreadableError, InvalidBlobReferenceError,
} from '../../src/infra/blob-store/errors.ts';
import type { BlobStore } from '../../src/infra/blob-store/port.ts';
import type { PersonalDataCodec } from '../../src/infra/personal-data/codec.ts';
import { SubjectErasedError } from '../../src/infra/personal-data/key-store.ts';

/** Ways to damage what a store holds for one blob. */
export type Damage = 'flip-segment-byte' | 'flip-header-byte' | 'drop-last-segment' | 'cut-tail' | 'swap-first-segments';

export interface BlobStoreFixture {
  store: BlobStore;
  /** The codec whose keys the store uses, for erasure. */
  codec: PersonalDataCodec;
  /** Opens a second instance over the same storage and keys. */
  reopen(): Promise<BlobStore>;
  damage(ownerId: string, sha256: string, how: Damage): Promise<void>;
  /** Puts the stored bytes of `fromSha` in the place of `toSha` (same owner). */
  transplant(ownerId: string, fromSha: string, toSha: string): Promise<void>;
  /** Everything stored, blobs and leftovers alike (files incl. temp files; rows of every table). */
  storedItems(): Promise<number>;
  /** Whether `needle` appears anywhere in what is stored. */
  storageContains(needle: Buffer): Promise<boolean>;
  dispose(): Promise<void>;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const owner = () => `user-${randomUUID()}`;

/** Yields `bytes` in chunks of irregular sizes. */
async function* chunked(bytes: Buffer, maxChunk = 40_000): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let step = 1;
  while (offset < bytes.length) {
    const size = Math.min(bytes.length - offset, 1 + ((step++ * 7919) % maxChunk));
    yield new Uint8Array(bytes.buffer, bytes.byteOffset + offset, size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function blobStoreContract(name: string, open: () => Promise<BlobStoreFixture>): void {
  describe(`blob store contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    beforeAll(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.dispose();
    });

    async function putBytes(ownerId: string, bytes: Buffer, maxBytes = 64 * 1024 * 1024) {
      return store.put(ownerId, chunked(bytes), { maxBytes });
    }

    it.each([
      ['0 bytes', 0], ['1 byte', 1], ['exactly one segment', SEGMENT_BYTES], ['one segment and a byte', SEGMENT_BYTES + 1],
      ['exactly three segments', 3 * SEGMENT_BYTES], ['several MB', 3 * 1024 * 1024 + 17],
    ])('round-trips %s with the right hash and size', async (_label, size) => {
      const ownerId = owner();
      const bytes = randomBytes(size);
      const blob = await putBytes(ownerId, bytes);
      expect(blob).toEqual({ sha256: sha(bytes), size });
      expect(await store.exists(ownerId, blob.sha256)).toBe(true);
      expect((await collect(store.read(ownerId, blob.sha256))).equals(bytes)).toBe(true);
      expect((await store.readAll(ownerId, blob.sha256, size)).equals(bytes)).toBe(true);
    });

    it('takes a source that yields everything in one chunk, and one that reuses its buffer', async () => {
      const ownerId = owner();
      const bytes = randomBytes(2 * SEGMENT_BYTES + 5);
      async function* whole() { yield bytes; }
      expect((await store.put(ownerId, whole(), { maxBytes: bytes.length })).sha256).toBe(sha(bytes));
      async function* reusing() {
        const buffer = Buffer.alloc(1000);
        for (let offset = 0; offset < bytes.length; offset += 1000) {
          const n = bytes.copy(buffer, 0, offset, offset + 1000);
          yield buffer.subarray(0, n);
        }
      }
      const other = owner();
      const blob = await store.put(other, reusing(), { maxBytes: bytes.length });
      expect((await store.readAll(other, blob.sha256, bytes.length)).equals(bytes)).toBe(true);
    });

    it('stores no plaintext, and neither the owner id nor the hash in the clear', async () => {
      const ownerId = owner();
      const bytes = Buffer.from('a recognisable plaintext that must not be stored as it is '.repeat(2000));
      const blob = await putBytes(ownerId, bytes);
      expect(await fixture.storageContains(bytes.subarray(0, 64))).toBe(false);
      expect(await fixture.storageContains(Buffer.from(ownerId))).toBe(false);
      expect(await fixture.storageContains(Buffer.from(blob.sha256))).toBe(false);
      expect(await fixture.storageContains(Buffer.from(blob.sha256, 'hex'))).toBe(false);
    });

    it('accepts exactly maxBytes and refuses one more, keeping nothing', async () => {
      const ownerId = owner();
      const bytes = randomBytes(SEGMENT_BYTES + 100);
      expect((await putBytes(ownerId, bytes, bytes.length)).size).toBe(bytes.length);
      const before = await fixture.storedItems();
      const bigger = randomBytes(bytes.length + 1);
      const error = await rejection(putBytes(ownerId, bigger, bytes.length));
      expect(error).toBeInstanceOf(BlobTooLargeError);
      expect((error as BlobTooLargeError).maxBytes).toBe(bytes.length);
      expect(await fixture.storedItems()).toBe(before);
      expect(await store.exists(ownerId, sha(bigger))).toBe(false);
      await expect(putBytes(owner(), Buffer.alloc(1), 0)).rejects.toThrow(BlobTooLargeError);
      expect(await fixture.storedItems()).toBe(before);
    });

    it('refuses a bad maxBytes', async () => {
      for (const maxBytes of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
        await expect(store.put(owner(), chunked(Buffer.alloc(1)), { maxBytes })).rejects.toThrow(RangeError);
      }
    });

    it('keeps nothing when the source fails midway', async () => {
      const before = await fixture.storedItems();
      const failure = new Error('source broke');
      async function* failing() {
        yield randomBytes(3 * SEGMENT_BYTES);
        yield randomBytes(1000);
        throw failure;
      }
      expect(await rejection(store.put(owner(), failing(), { maxBytes: 10 * SEGMENT_BYTES }))).toBe(failure);
      expect(await fixture.storedItems()).toBe(before);
    });

    it('keeps nothing when the source yields something other than bytes', async () => {
      const before = await fixture.storedItems();
      async function* wrong() {
        yield randomBytes(10);
        yield 'text' as unknown as Uint8Array;
      }
      await expect(store.put(owner(), wrong(), { maxBytes: 100 })).rejects.toThrow(TypeError);
      expect(await fixture.storedItems()).toBe(before);
    });

    it('stops at once and keeps nothing when aborted while the source waits for bytes', async () => {
      const before = await fixture.storedItems();
      const controller = new AbortController();
      let pulled = 0;
      async function* stalling() {
        for (;;) {
          pulled++;
          if (pulled === 5) {
            controller.abort(new Error('client went away'));
            await new Promise(() => {}); // never more bytes
          }
          yield randomBytes(SEGMENT_BYTES);
        }
      }
      const error = await rejection(store.put(owner(), stalling(), { maxBytes: 100 * SEGMENT_BYTES, signal: controller.signal }));
      expect((error as Error).message).toBe('client went away');
      expect(await fixture.storedItems()).toBe(before);
    });

    it('keeps nothing when the signal is already aborted', async () => {
      const before = await fixture.storedItems();
      const signal = AbortSignal.abort(new Error('too late'));
      await expect(store.put(owner(), chunked(randomBytes(10)), { maxBytes: 100, signal })).rejects.toThrow('too late');
      expect(await fixture.storedItems()).toBe(before);
    });

    it('is idempotent: the same bytes again for the same owner keep one blob', async () => {
      const ownerId = owner();
      const bytes = randomBytes(2 * SEGMENT_BYTES + 3);
      const first = await putBytes(ownerId, bytes);
      const after = await fixture.storedItems();
      expect(await putBytes(ownerId, bytes)).toEqual(first);
      const [a, b] = await Promise.all([putBytes(ownerId, bytes), putBytes(ownerId, bytes)]);
      expect(a).toEqual(first);
      expect(b).toEqual(first);
      expect(await fixture.storedItems()).toBe(after);
      expect((await store.readAll(ownerId, first.sha256, bytes.length)).equals(bytes)).toBe(true);
      expect(await store.deleteOwner(ownerId)).toBe(1);
    });

    it('says not found for a blob that is not there, and for another owner’s blob', async () => {
      const ownerId = owner();
      const blob = await putBytes(ownerId, randomBytes(100));
      for (const [o, s] of [[ownerId, sha(Buffer.from('never stored'))], [owner(), blob.sha256]] as const) {
        await expect(collect(store.read(o, s))).rejects.toThrow(BlobNotFoundError);
        await expect(store.readAll(o, s, 1000)).rejects.toThrow(BlobNotFoundError);
        expect(await store.exists(o, s)).toBe(false);
        await store.delete(o, s); // nothing to delete is fine
      }
      expect(await store.exists(ownerId, blob.sha256)).toBe(true);
    });

    it('readAll refuses a blob larger than its maxBytes', async () => {
      const ownerId = owner();
      const blob = await putBytes(ownerId, randomBytes(500));
      await expect(store.readAll(ownerId, blob.sha256, 499)).rejects.toThrow(BlobTooLargeError);
      expect(await store.readAll(ownerId, blob.sha256, 500)).toHaveLength(500);
    });

    it('deletes one blob', async () => {
      const ownerId = owner();
      const keep = await putBytes(ownerId, randomBytes(10));
      const drop = await putBytes(ownerId, randomBytes(SEGMENT_BYTES * 2));
      await store.delete(ownerId, drop.sha256);
      expect(await store.exists(ownerId, drop.sha256)).toBe(false);
      await expect(collect(store.read(ownerId, drop.sha256))).rejects.toThrow(BlobNotFoundError);
      expect(await store.readAll(ownerId, keep.sha256, 10)).toHaveLength(10);
    });

    it('leaves an erased owner’s blobs unreadable, refuses new ones, and still deletes them', async () => {
      const ownerId = owner();
      const blob = await putBytes(ownerId, randomBytes(SEGMENT_BYTES + 9));
      const otherOwner = owner();
      const other = await putBytes(otherOwner, randomBytes(10));
      await fixture.codec.erase(ownerId);
      for (const reader of [store, await fixture.reopen()]) {
        const error = await rejection(collect(reader.read(ownerId, blob.sha256)));
        expect(error).toBeInstanceOf(BlobUnreadableError);
        expect((error as BlobUnreadableError).reason).toBe('erased');
        await expect(reader.readAll(ownerId, blob.sha256, blob.size)).rejects.toThrow(BlobUnreadableError);
        if (reader !== store) await reader.close();
      }
      await expect(putBytes(ownerId, randomBytes(10))).rejects.toThrow(SubjectErasedError);
      expect(await store.readAll(otherOwner, other.sha256, 10)).toHaveLength(10);
      expect(await store.deleteOwner(ownerId)).toBe(1);
    });

    it.each<Damage>(['flip-segment-byte', 'flip-header-byte', 'drop-last-segment', 'cut-tail', 'swap-first-segments'])(
      'detects stored bytes that were damaged: %s',
      async (how) => {
        const ownerId = owner();
        const bytes = randomBytes(3 * SEGMENT_BYTES);
        const blob = await putBytes(ownerId, bytes);
        await fixture.damage(ownerId, blob.sha256, how);
        const error = await rejection(collect(store.read(ownerId, blob.sha256)));
        expect(error).toBeInstanceOf(BlobUnreadableError);
        expect((error as BlobUnreadableError).reason).toBe('corrupt');
        await expect(store.readAll(ownerId, blob.sha256, bytes.length)).rejects.toThrow(BlobUnreadableError);
      },
    );

    it('detects an empty blob cut short', async () => {
      const ownerId = owner();
      const blob = await putBytes(ownerId, Buffer.alloc(0));
      await fixture.damage(ownerId, blob.sha256, 'cut-tail');
      await expect(store.readAll(ownerId, blob.sha256, 0)).rejects.toThrow(BlobUnreadableError);
    });

    it('refuses another blob’s bytes put in a blob’s place before yielding anything', async () => {
      const ownerId = owner();
      const real = await putBytes(ownerId, randomBytes(2 * SEGMENT_BYTES));
      const other = await putBytes(ownerId, randomBytes(2 * SEGMENT_BYTES));
      await fixture.transplant(ownerId, other.sha256, real.sha256);
      const iterator = store.read(ownerId, real.sha256)[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toThrow(BlobUnreadableError);
    });

    it('deleteOwner removes all and only that owner’s blobs', async () => {
      const a = owner();
      const b = owner();
      const shared = randomBytes(SEGMENT_BYTES + 1);
      const blobsOfA = [await putBytes(a, shared), await putBytes(a, randomBytes(5)), await putBytes(a, Buffer.alloc(0))];
      const blobsOfB = [await putBytes(b, shared), await putBytes(b, randomBytes(7))];
      expect(await store.deleteOwner(a)).toBe(3);
      for (const blob of blobsOfA) expect(await store.exists(a, blob.sha256)).toBe(false);
      for (const blob of blobsOfB) expect(await store.readAll(b, blob.sha256, blob.size)).toHaveLength(blob.size);
      expect(await store.deleteOwner(a)).toBe(0);
      expect(await store.deleteOwner(owner())).toBe(0);
    });

    it('refuses hostile owner ids and hashes before touching storage', async () => {
      const good = sha(Buffer.from('x'));
      const before = await fixture.storedItems();
      const badOwners: unknown[] = ['', '.', '..', '../etc', 'a/b', 'a\\b', 'a\0b', ' a', 'a b', 'ä', 'x'.repeat(129), '.hidden', undefined, 42];
      const badHashes: unknown[] = [
        '', good.toUpperCase(), good.slice(1), `${good}0`, `../${good.slice(3)}`, 'g'.repeat(64), `${good.slice(0, 63)}\0`, undefined,
      ];
      for (const ownerId of badOwners as string[]) {
        await expect(store.put(ownerId, chunked(Buffer.alloc(1)), { maxBytes: 10 })).rejects.toThrow(InvalidBlobReferenceError);
        await expect(collect(store.read(ownerId, good))).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.readAll(ownerId, good, 10)).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.exists(ownerId, good)).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.delete(ownerId, good)).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.deleteOwner(ownerId)).rejects.toThrow(InvalidBlobReferenceError);
      }
      for (const hash of badHashes as string[]) {
        await expect(collect(store.read('user-1', hash))).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.readAll('user-1', hash, 10)).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.exists('user-1', hash)).rejects.toThrow(InvalidBlobReferenceError);
        await expect(store.delete('user-1', hash)).rejects.toThrow(InvalidBlobReferenceError);
      }
      expect(await fixture.storedItems()).toBe(before);
    });

    it('is shared by a second instance over the same storage', async () => {
      const ownerId = owner();
      const bytes = randomBytes(SEGMENT_BYTES + 2);
      const blob = await putBytes(ownerId, bytes);
      const second = await fixture.reopen();
      try {
        expect((await second.readAll(ownerId, blob.sha256, bytes.length)).equals(bytes)).toBe(true);
      } finally {
        await second.close();
      }
    });

    it('refuses to work once closed', async () => {
      const closing = await fixture.reopen();
      await closing.close();
      await closing.close();
      await expect(closing.exists('user-1', sha(Buffer.from('x')))).rejects.toThrow(BlobStoreClosedError);
      await expect(closing.put('user-1', chunked(Buffer.alloc(1)), { maxBytes: 1 })).rejects.toThrow(BlobStoreClosedError);
    });
  });
}
