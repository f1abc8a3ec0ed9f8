import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobUnreadableError } from '../../../src/infra/blob-store/errors.ts';
import { LocalBlobStore } from '../../../src/infra/blob-store/local-blob-store.ts';
import { PersonalDataCodec } from '../../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import {
  chunkIdFor, chunkRecords, decodeChunksArtifact, decodeVectorsArtifact, encodeChunksArtifact, encodeVectorsArtifact, InvalidArtifactError,
  readChunksArtifact, readVectorsArtifact, writeChunksArtifact, writeVectorsArtifact,
} from '../../../src/projections/ingestion/artifacts.ts';

const chunks = chunkRecords('doc-1', 2, [
  { index: 0, text: 'First chunk', page: 1, headingPath: ['Intro'], tokens: 2 },
  { index: 1, text: 'Second chunk', page: null, headingPath: [], tokens: 2 },
]);

describe('chunk ids', () => {
  it('derive from document, version and position only', () => {
    expect(chunks[0]!.id).toBe(chunkIdFor('doc-1', 2, 0));
    expect(chunkIdFor('doc-1', 2, 0)).not.toBe(chunkIdFor('doc-1', 3, 0));
    expect(chunkIdFor('doc-1', 2, 0)).not.toBe(chunkIdFor('doc-2', 2, 0));
    expect(chunkIdFor('doc-1', 2, 0)).not.toBe(chunkIdFor('doc-1', 2, 1));
  });
});

describe('chunks artifact format', () => {
  it('round-trips, and the same chunks give the same bytes', () => {
    const artifact = { documentId: 'doc-1', version: 2, chunks };
    expect(decodeChunksArtifact(encodeChunksArtifact(artifact))).toEqual(artifact);
    expect(encodeChunksArtifact(artifact).equals(encodeChunksArtifact({ ...artifact, chunks: chunkRecords('doc-1', 2, chunks) }))).toBe(true);
  });

  it.each([
    ['not JSON', Buffer.from('{nope')],
    ['another format', Buffer.from(JSON.stringify({ format: 'x', formatVersion: 1, documentId: 'd', version: 1, chunks: [] }))],
    ['a future version', Buffer.from(JSON.stringify({ format: 'evident-chunks', formatVersion: 2, documentId: 'd', version: 1, chunks: [] }))],
    ['an extra field', Buffer.from(JSON.stringify({ format: 'evident-chunks', formatVersion: 1, documentId: 'd', version: 1, chunks: [], x: 1 }))],
    ['chunks out of order', encodeChunksArtifact({ documentId: 'doc-1', version: 2, chunks: [chunks[1]!, chunks[0]!] })],
    ['a chunk id not derived from its place', encodeChunksArtifact({ documentId: 'doc-1', version: 2, chunks: [{ ...chunks[0]!, id: 'other' }] })],
  ])('refuses %s', (_, bytes) => {
    expect(() => decodeChunksArtifact(bytes)).toThrow(InvalidArtifactError);
  });
});

describe('vectors artifact format', () => {
  const artifact = {
    documentId: 'doc-1', version: 2, modelId: 'test:m', dimensions: 3, chunkIds: chunks.map((c) => c.id),
    vectors: [new Float32Array([0.5, -0.25, 1]), new Float32Array([0, 1, 0.125])],
  };

  it('round-trips exactly', () => {
    expect(decodeVectorsArtifact(encodeVectorsArtifact(artifact))).toEqual(artifact);
  });

  it('refuses truncated, extended, non-finite and foreign bytes', () => {
    const bytes = encodeVectorsArtifact(artifact);
    expect(() => decodeVectorsArtifact(bytes.subarray(0, bytes.length - 1))).toThrow(InvalidArtifactError);
    expect(() => decodeVectorsArtifact(Buffer.concat([bytes, Buffer.alloc(4)]))).toThrow(InvalidArtifactError);
    expect(() => decodeVectorsArtifact(Buffer.from('EVVEC2\n'))).toThrow(InvalidArtifactError);
    const nan = Buffer.from(bytes);
    nan.writeFloatLE(Number.NaN, nan.length - 4);
    expect(() => decodeVectorsArtifact(nan)).toThrow(InvalidArtifactError);
    expect(() => encodeVectorsArtifact({ ...artifact, vectors: [artifact.vectors[0]!] })).toThrow(InvalidArtifactError);
  });
});

describe('artifacts in the blob store', () => {
  let dir: string;
  let keyStore: SqliteKeyStore;
  let codec: PersonalDataCodec;
  let blobs: LocalBlobStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evident-artifacts-'));
    keyStore = new SqliteKeyStore(':memory:');
    codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
    blobs = await LocalBlobStore.open({ dir, keys: codec });
  });
  afterAll(async () => {
    await blobs.close();
    await keyStore.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes content-addressed, reads back for the expected version only, and is unreadable after erasure', async () => {
    const sha = await writeChunksArtifact(blobs, 'owner-a', { documentId: 'doc-1', version: 2, chunks });
    expect(await writeChunksArtifact(blobs, 'owner-a', { documentId: 'doc-1', version: 2, chunks })).toBe(sha);
    expect((await readChunksArtifact(blobs, 'owner-a', sha, { documentId: 'doc-1', version: 2 })).chunks).toEqual(chunks);
    await expect(readChunksArtifact(blobs, 'owner-a', sha, { documentId: 'doc-1', version: 3 })).rejects.toThrow(InvalidArtifactError);
    const vectors = await writeVectorsArtifact(blobs, 'owner-a', {
      documentId: 'doc-1', version: 2, modelId: 'm', dimensions: 1, chunkIds: ['a'], vectors: [new Float32Array([1])],
    });
    expect((await readVectorsArtifact(blobs, 'owner-a', vectors)).chunkIds).toEqual(['a']);
    await codec.erase('owner-a');
    await expect(readChunksArtifact(blobs, 'owner-a', sha)).rejects.toThrow(BlobUnreadableError);
  });
});
