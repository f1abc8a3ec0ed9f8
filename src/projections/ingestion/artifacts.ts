import { z } from 'zod';
import type { BlobStore } from '../../infra/blob-store/port.ts';
import type { Chunk } from '../../infra/extraction/chunker.ts';
import { derivedUuid } from '../../infra/ids.ts';

/**
 * Ingestion artifacts: the chunk texts and the chunk vectors of one document version. They never go
 * into events (document text is personal data); they are content-addressed blobs in the blob store,
 * encrypted under the owner's key, named by `DocumentChunked.chunksSha256` and
 * `DocumentIndexed.vectorsSha256`. Erasing the owner makes them unreadable. Same input, same bytes,
 * same sha256: a re-run after a crash names the same artifact.
 *
 * Chunks, version 1 (JSON):
 *   { "format": "evident-chunks", "formatVersion": 1, "documentId", "version",
 *     "chunks": [{ "id", "index", "text", "page", "headingPath", "tokens" }] }
 * Vectors, version 1 (binary, little-endian):
 *   "EVVEC1\n" | uint32 header length | header JSON { documentId, version, modelId, dimensions, chunkIds }
 *   | float32 × dimensions × chunkIds.length
 */

/** Far above what chunking a 500-page file makes; a bound all the same. */
export const MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;
const VECTORS_MAGIC = Buffer.from('EVVEC1\n', 'latin1');
const MAX_VECTORS_HEADER_BYTES = 64 * 1024 * 1024;

export interface ChunkRecord {
  /** Deterministic: `chunkIdFor(documentId, version, index)`. */
  id: string;
  index: number;
  text: string;
  page: number | null;
  headingPath: string[];
  tokens: number;
}

export interface ChunksArtifact {
  documentId: string;
  version: number;
  chunks: ChunkRecord[];
}

export interface VectorsArtifact {
  documentId: string;
  version: number;
  modelId: string;
  dimensions: number;
  /** Same order as `vectors`. */
  chunkIds: string[];
  vectors: Float32Array[];
}

/** A stored artifact that does not have the expected shape (or is not for the expected document). */
export class InvalidArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArtifactError';
  }
}

export const chunkIdFor = (documentId: string, version: number, index: number) =>
  derivedUuid(`document-chunk:${documentId}:${version}:${index}`);

const chunkSchema = z.object({
  id: z.string().min(1).max(200),
  index: z.number().int().min(0),
  text: z.string(),
  page: z.number().int().positive().nullable(),
  headingPath: z.array(z.string()),
  tokens: z.number().int().min(0),
}).strict();

const chunksSchema = z.object({
  format: z.literal('evident-chunks'),
  formatVersion: z.literal(1),
  documentId: z.string().min(1).max(200),
  version: z.number().int().positive(),
  chunks: z.array(chunkSchema),
}).strict();

const vectorsHeaderSchema = z.object({
  documentId: z.string().min(1).max(200),
  version: z.number().int().positive(),
  modelId: z.string().min(1).max(200),
  dimensions: z.number().int().positive().max(65_536),
  chunkIds: z.array(z.string().min(1).max(200)),
}).strict();

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function put(blobs: BlobStore, ownerId: string, bytes: Uint8Array): Promise<string> {
  const { sha256 } = await blobs.put(ownerId, once(bytes), { maxBytes: MAX_ARTIFACT_BYTES });
  return sha256;
}

function expectFor(found: { documentId: string; version: number }, expected?: { documentId: string; version: number }): void {
  if (expected && (found.documentId !== expected.documentId || found.version !== expected.version)) {
    throw new InvalidArtifactError('The artifact belongs to another document version');
  }
}

/** Chunks of a version with their deterministic ids. */
export function chunkRecords(documentId: string, version: number, chunks: readonly Chunk[]): ChunkRecord[] {
  return chunks.map((chunk) => ({
    id: chunkIdFor(documentId, version, chunk.index), index: chunk.index, text: chunk.text, page: chunk.page,
    headingPath: [...chunk.headingPath], tokens: chunk.tokens,
  }));
}

export function encodeChunksArtifact(artifact: ChunksArtifact): Buffer {
  return Buffer.from(JSON.stringify({
    format: 'evident-chunks', formatVersion: 1, documentId: artifact.documentId, version: artifact.version,
    chunks: artifact.chunks.map((c) => ({ id: c.id, index: c.index, text: c.text, page: c.page, headingPath: c.headingPath, tokens: c.tokens })),
  }), 'utf8');
}

export function decodeChunksArtifact(bytes: Uint8Array): ChunksArtifact {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidArtifactError('The chunks artifact is not JSON');
  }
  const parsed = chunksSchema.safeParse(json);
  if (!parsed.success) throw new InvalidArtifactError('The chunks artifact does not have the expected shape');
  const { documentId, version, chunks } = parsed.data;
  chunks.forEach((chunk, i) => {
    if (chunk.index !== i) throw new InvalidArtifactError('The chunks artifact has chunks out of order');
    if (chunk.id !== chunkIdFor(documentId, version, i)) throw new InvalidArtifactError('The chunks artifact has a chunk id that is not derived from its position');
  });
  return { documentId, version, chunks };
}

/** Stores the chunks of a document version for its owner; returns the artifact's sha256. */
export function writeChunksArtifact(blobs: BlobStore, ownerId: string, artifact: ChunksArtifact): Promise<string> {
  return put(blobs, ownerId, encodeChunksArtifact(artifact));
}

/**
 * Throws the blob store's errors (BlobNotFoundError, BlobUnreadableError once the owner is erased)
 * or InvalidArtifactError when the bytes are not a chunks artifact (for `expected`, when given).
 */
export async function readChunksArtifact(
  blobs: BlobStore, ownerId: string, sha256: string, expected?: { documentId: string; version: number },
): Promise<ChunksArtifact> {
  const artifact = decodeChunksArtifact(await blobs.readAll(ownerId, sha256, MAX_ARTIFACT_BYTES));
  expectFor(artifact, expected);
  return artifact;
}

export function encodeVectorsArtifact(artifact: VectorsArtifact): Buffer {
  const { documentId, version, modelId, dimensions, chunkIds, vectors } = artifact;
  if (vectors.length !== chunkIds.length) throw new InvalidArtifactError('One vector per chunk id is needed');
  const header = Buffer.from(JSON.stringify({ documentId, version, modelId, dimensions, chunkIds }), 'utf8');
  const body = Buffer.alloc(vectors.length * dimensions * 4);
  vectors.forEach((vector, i) => {
    if (vector.length !== dimensions) throw new InvalidArtifactError('A vector has the wrong dimension');
    for (let d = 0; d < dimensions; d++) body.writeFloatLE(vector[d]!, (i * dimensions + d) * 4);
  });
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  return Buffer.concat([VECTORS_MAGIC, length, header, body]);
}

export function decodeVectorsArtifact(input: Uint8Array): VectorsArtifact {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const start = VECTORS_MAGIC.length + 4;
  if (bytes.length < start || !bytes.subarray(0, VECTORS_MAGIC.length).equals(VECTORS_MAGIC)) {
    throw new InvalidArtifactError('Not a vectors artifact');
  }
  const headerLength = bytes.readUInt32LE(VECTORS_MAGIC.length);
  if (headerLength > MAX_VECTORS_HEADER_BYTES || start + headerLength > bytes.length) throw new InvalidArtifactError('The vectors artifact is truncated');
  let json: unknown;
  try {
    json = JSON.parse(bytes.subarray(start, start + headerLength).toString('utf8'));
  } catch {
    throw new InvalidArtifactError('The vectors artifact header is not JSON');
  }
  const parsed = vectorsHeaderSchema.safeParse(json);
  if (!parsed.success) throw new InvalidArtifactError('The vectors artifact header does not have the expected shape');
  const { documentId, version, modelId, dimensions, chunkIds } = parsed.data;
  const body = bytes.subarray(start + headerLength);
  if (body.length !== chunkIds.length * dimensions * 4) throw new InvalidArtifactError('The vectors artifact has the wrong length');
  const vectors = chunkIds.map((_, i) => {
    const vector = new Float32Array(dimensions);
    for (let d = 0; d < dimensions; d++) {
      const value = body.readFloatLE((i * dimensions + d) * 4);
      if (!Number.isFinite(value)) throw new InvalidArtifactError('The vectors artifact holds a non-finite number');
      vector[d] = value;
    }
    return vector;
  });
  return { documentId, version, modelId, dimensions, chunkIds, vectors };
}

export function writeVectorsArtifact(blobs: BlobStore, ownerId: string, artifact: VectorsArtifact): Promise<string> {
  return put(blobs, ownerId, encodeVectorsArtifact(artifact));
}

/** Errors as readChunksArtifact. */
export async function readVectorsArtifact(
  blobs: BlobStore, ownerId: string, sha256: string, expected?: { documentId: string; version: number },
): Promise<VectorsArtifact> {
  const artifact = decodeVectorsArtifact(await blobs.readAll(ownerId, sha256, MAX_ARTIFACT_BYTES));
  expectFor(artifact, expected);
  return artifact;
}
