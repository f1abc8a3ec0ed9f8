import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SEGMENT_BYTES, TAG_BYTES, headerLength } from '../../../src/infra/blob-store/blob-cipher.ts';
import { LocalBlobStore } from '../../../src/infra/blob-store/local-blob-store.ts';
import { blobRef, ownerRef } from '../../../src/infra/blob-store/references.ts';
import { PersonalDataCodec } from '../../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { blobStoreContract, type Damage } from '../../contract/blob-store.contract.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function blobFile(dir: string, ownerId: string, sha256: string): string {
  return join(dir, ownerRef(ownerId).toString('hex'), blobRef(ownerId, sha256).toString('hex'));
}

function flipByte(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, position);
  } finally {
    closeSync(fd);
  }
}

function damage(path: string, how: Damage): void {
  const bytes = readFileSync(path);
  const header = headerLength(bytes)!;
  const segment = SEGMENT_BYTES + TAG_BYTES;
  switch (how) {
    case 'flip-segment-byte': return flipByte(path, header + 5);
    case 'flip-header-byte': return flipByte(path, header - 50); // inside the salt
    case 'drop-last-segment': return truncateSync(path, bytes.length - segment);
    case 'cut-tail': return truncateSync(path, bytes.length - 1);
    case 'swap-first-segments': {
      const first = Buffer.from(bytes.subarray(header, header + segment));
      const second = Buffer.from(bytes.subarray(header + segment, header + 2 * segment));
      const fd = openSync(path, 'r+');
      writeSync(fd, second, 0, segment, header);
      writeSync(fd, first, 0, segment, header + segment);
      closeSync(fd);
    }
  }
}

blobStoreContract('local folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-blobs-'));
  const keyStore = new SqliteKeyStore(':memory:');
  const codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
  const root = join(dir, 'blobs');
  const store = await LocalBlobStore.open({ dir: root, keys: codec });
  return {
    store,
    codec,
    reopen: () => LocalBlobStore.open({ dir: root, keys: codec }),
    damage: async (ownerId, sha256, how) => damage(blobFile(root, ownerId, sha256), how),
    transplant: async (ownerId, fromSha, toSha) => {
      const bytes = readFileSync(blobFile(root, ownerId, fromSha));
      const fd = openSync(blobFile(root, ownerId, toSha), 'w');
      writeSync(fd, bytes);
      closeSync(fd);
    },
    storedItems: async () => filesUnder(root).length + readdirSync(join(root, 'tmp')).length,
    storageContains: async (needle) => filesUnder(root).some((f) => f.includes(needle.toString('latin1')) || readFileSync(f).includes(needle)),
    dispose: async () => {
      await store.close();
      await keyStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('LocalBlobStore', () => {
  it('names files by hashes, keeps them private to the process user, and clears temp files at open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-blobs-'));
    const keyStore = new SqliteKeyStore(':memory:');
    try {
      const codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
      const store = await LocalBlobStore.open({ dir, keys: codec });
      async function* one() { yield Buffer.from('hello'); }
      const blob = await store.put('user-1', one(), { maxBytes: 100 });
      const [file] = filesUnder(dir);
      expect(file).toBe(blobFile(dir, 'user-1', blob.sha256));
      expect(file).not.toContain('user-1');
      expect(file).not.toContain(blob.sha256);
      expect(statSync(file!).mode & 0o077).toBe(0);
      const leftover = join(dir, 'tmp', 'crashed.part');
      writeSync(openSync(leftover, 'w'), Buffer.from('half'));
      await LocalBlobStore.open({ dir, keys: codec });
      expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
      expect(filesUnder(dir)).toEqual([file]);
    } finally {
      await keyStore.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
