import { describe, expect, it } from 'vitest';
import { InvalidBlobReferenceError } from '../../../src/infra/blob-store/errors.ts';
import { blobRef, checkMaxBytes, checkOwnerId, checkSha256, ownerRef } from '../../../src/infra/blob-store/references.ts';

const hash = 'a'.repeat(64);

describe('blob references', () => {
  it('accepts the ids the app makes', () => {
    for (const id of ['019a7b1e-4c2d-7f00-8000-000000000001', 'user_1', 'a', 'x:y.z', 'x'.repeat(128)]) expect(checkOwnerId(id)).toBe(id);
    expect(checkSha256(hash)).toBe(hash);
  });

  it('refuses anything that could be a path, or is not text', () => {
    for (const id of ['', '.', '..', '../a', 'a/b', 'a\\b', 'a\0', '\n', 'x'.repeat(129), null, {}]) {
      expect(() => checkOwnerId(id)).toThrow(InvalidBlobReferenceError);
    }
    for (const sha of ['A'.repeat(64), 'a'.repeat(63), `${hash}\n`, `/${hash.slice(1)}`, 7]) {
      expect(() => checkSha256(sha)).toThrow(InvalidBlobReferenceError);
    }
    for (const max of [-1, 0.5, Infinity, '1']) expect(() => checkMaxBytes(max)).toThrow(RangeError);
  });

  it('names owners and blobs by domain-separated hashes', () => {
    expect(ownerRef('u1')).toHaveLength(32);
    expect(ownerRef('u1').equals(ownerRef('u2'))).toBe(false);
    expect(blobRef('u1', hash).equals(blobRef('u2', hash))).toBe(false);
    expect(blobRef('u1', hash).equals(ownerRef('u1'))).toBe(false);
    expect(ownerRef('u1').toString('hex')).not.toBe(hash);
  });
});
