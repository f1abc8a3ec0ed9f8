import type { DocumentChunked, DocumentDeleted, DocumentIndexed } from '../domain/document/document.ts';
import { BlobNotFoundError, BlobUnreadableError } from '../infra/blob-store/errors.ts';
import type { BlobStore } from '../infra/blob-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { addChunks, LEXICAL_TABLES, removeDocument, removeDocumentVersion, removeOwner } from '../infra/retrieval/lexical/lexical-index.ts';
import { ANALYZER_VERSION } from '../infra/retrieval/lexical/tokenize.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';
import { InvalidArtifactError, readChunksArtifact, type ChunksArtifact } from './ingestion/artifacts.ts';
import type { Projection } from './projection.ts';

/** Rows per INSERT (8 parameters each, well under PostgreSQL's 65,535). */
const INSERT_BATCH = 500;

export interface DocumentChunksProjectionOptions {
  blobs: BlobStore;
}

/** Versions of a document older than `version` that still have rows. */
async function olderVersions(tx: SqlExecutor, documentId: string, version: number): Promise<number[]> {
  const { rows } = await tx.query<{ version: number }>(
    `SELECT DISTINCT version FROM document_chunks WHERE document_id = $1 AND version < $2
     UNION SELECT DISTINCT version FROM lexical_chunks WHERE document_id = $1 AND version < $2`, [documentId, version]);
  return rows.map((row) => row.version);
}

async function insertChunks(tx: SqlExecutor, ownerId: string, artifact: ChunksArtifact): Promise<void> {
  for (let start = 0; start < artifact.chunks.length; start += INSERT_BATCH) {
    const batch = artifact.chunks.slice(start, start + INSERT_BATCH);
    const values: unknown[] = [];
    const tuples = batch.map((chunk, i) => {
      values.push(chunk.id, ownerId, artifact.documentId, artifact.version, chunk.index, chunk.text, chunk.page, JSON.stringify(chunk.headingPath));
      const p = i * 8;
      return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}, $${p + 8}::jsonb)`;
    });
    await tx.query(
      `INSERT INTO document_chunks (chunk_id, owner_id, document_id, version, chunk_index, text, page, heading_path)
       VALUES ${tuples.join(', ')} ON CONFLICT (chunk_id) DO NOTHING`, values);
  }
  await addChunks(tx, artifact.chunks.map((chunk) => ({
    chunkId: chunk.id, documentId: artifact.documentId, version: artifact.version, ownerId, index: chunk.index,
    text: chunk.text, page: chunk.page, headingPath: chunk.headingPath,
  })));
}

/**
 * The chunk texts (document_chunks) and the lexical index over them, in one transaction. On
 * DocumentChunked the chunks artifact is read from the blob store; on DocumentIndexed of version v
 * the older versions go (the old version serves until the new one is indexed); a deleted document
 * or an erased owner leaves no row. An artifact that cannot be read (its owner was erased, or it is
 * gone) is skipped: nothing of it can be shown anyway. Its version is the lexical analyzer's, so an
 * install whose index was cut by an older analyzer is rebuilt (replayed and swapped) at its next start.
 */
export function createDocumentChunksProjection({ blobs }: DocumentChunksProjectionOptions): Projection {
  return {
    name: 'document-chunks',
    tables: ['document_chunks', ...LEXICAL_TABLES],
    // The lexical index holds the analyzer's terms and lengths: a new analyzer rebuilds it at start.
    version: ANALYZER_VERSION,
    eventTypes: ['DocumentChunked', 'DocumentIndexed', 'DocumentDeleted', 'DocumentExpired', ERASURE_EVENT],
    async handle(recorded, tx) {
      switch (recorded.type) {
        case 'DocumentChunked': {
          const d = (recorded as unknown as DocumentChunked).data;
          let artifact: ChunksArtifact;
          try {
            artifact = await readChunksArtifact(blobs, d.ownerId, d.chunksSha256, { documentId: d.documentId, version: d.version });
          } catch (error) {
            if (error instanceof BlobUnreadableError || error instanceof BlobNotFoundError || error instanceof InvalidArtifactError) return;
            throw error;
          }
          await insertChunks(tx, d.ownerId, artifact);
          return;
        }
        case 'DocumentIndexed': {
          const d = (recorded as unknown as DocumentIndexed).data;
          for (const version of await olderVersions(tx, d.documentId, d.version)) {
            await tx.query('DELETE FROM document_chunks WHERE document_id = $1 AND version = $2', [d.documentId, version]);
            await removeDocumentVersion(tx, d.ownerId, d.documentId, version);
          }
          return;
        }
        case 'DocumentDeleted':
        case 'DocumentExpired': {
          const d = (recorded as unknown as DocumentDeleted).data;
          await tx.query('DELETE FROM document_chunks WHERE document_id = $1', [d.documentId]);
          await removeDocument(tx, d.ownerId, d.documentId);
          return;
        }
        case ERASURE_EVENT: {
          const { userId } = recorded.data as { userId: string };
          await tx.query('DELETE FROM document_chunks WHERE owner_id = $1', [userId]);
          await removeOwner(tx, userId);
          return;
        }
      }
    },
  };
}
