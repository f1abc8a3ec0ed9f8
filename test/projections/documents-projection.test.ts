import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { documentsProjection } from '../../src/projections/documents-projection.ts';
import { getDocument, getKnowledgeBase, knowledgeBaseDocuments, listKnowledgeBases } from '../../src/projections/documents-queries.ts';

let db: PGlite;
let tx: SqlExecutor;
let position = 0n;

beforeAll(async () => {
  db = new PGlite();
  await db.exec(await readFile(new URL('../../migrations/0007_documents.sql', import.meta.url), 'utf8'));
  await db.exec(await readFile(new URL('../../migrations/0012_document_vector_spaces.sql', import.meta.url), 'utf8'));
  tx = db as unknown as SqlExecutor;
});
beforeEach(async () => {
  await db.exec('TRUNCATE documents, knowledge_bases, knowledge_base_documents, document_vector_spaces');
  position = 0n;
});
afterAll(async () => {
  await db.close();
});

function record(type: string, data: Record<string, unknown>, erasedFields?: string[]): RecordedEvent {
  position += 1n;
  return {
    id: `e${position}`, stream: 's', revision: position, position, type, schemaVersion: 1, data,
    metadata: { actorId: 'u1', correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, Number(position))).toISOString() },
    ...(erasedFields ? { erasedFields } : {}),
  };
}

const ids = { documentId: 'd1', ownerId: 'u1' };

/** The rows of document_vector_spaces as `document:version:model:dimensions`. */
async function spaces(): Promise<string[]> {
  const { rows } = await db.query<{ s: string }>(
    `SELECT document_id || ':' || version || ':' || embedding_model || ':' || dimensions AS s FROM document_vector_spaces ORDER BY 1`);
  return rows.map((row) => row.s);
}
const file = { mediaType: 'text/markdown', sha256: 'a'.repeat(64), size: 10 };

async function apply(...events: RecordedEvent[]): Promise<void> {
  // Each twice: handlers must be idempotent.
  for (const event of events) {
    await documentsProjection.handle(event, tx);
    await documentsProjection.handle(event, tx);
  }
}

describe('documents projection', () => {
  it('follows a version through ingestion; a new version starts over but keeps the indexed one', async () => {
    await apply(
      record('DocumentUploaded', { ...ids, version: 1, name: 'a.md', ...file }),
      record('DocumentExtractionStarted', { ...ids, version: 1 }),
      record('DocumentExtracted', { ...ids, version: 1, pages: 1, characters: 42, ocrPages: 0 }),
      record('DocumentChunked', { ...ids, version: 1, chunkCount: 3, chunkTokens: 512, overlapTokens: 64, chunksSha256: 'b'.repeat(64) }),
      record('DocumentIndexed', { ...ids, version: 1, embeddingModel: 'm', dimensions: 8, vectorsSha256: 'c'.repeat(64) }),
    );
    expect(await getDocument(tx, 'u1', 'd1')).toMatchObject({
      status: 'indexed', current_version: 1, indexed_version: 1, pages: 1, characters: 42, chunk_count: 3, embedding_model: 'm', dimensions: 8, name: 'a.md',
    });
    await apply(
      record('DocumentVersionUploaded', { ...ids, version: 2, name: 'b.md', ...file, sha256: 'd'.repeat(64) }),
      record('DocumentIngestionFailed', { ...ids, version: 2, stage: 'extraction', reason: 'malformed', message: 'bad file' }),
    );
    expect(await getDocument(tx, 'u1', 'd1')).toMatchObject({
      status: 'failed', current_version: 2, indexed_version: 1, chunk_count: null, failure_stage: 'extraction', failure_reason: 'malformed',
      failure_message: 'bad file', name: 'b.md', sha256: 'd'.repeat(64),
    });
    expect(await getDocument(tx, 'someone-else', 'd1')).toBeNull();
  });

  it('DocumentEmbedded sets the model of the indexed version only, and leaves the status of a newer version alone', async () => {
    await apply(
      record('DocumentUploaded', { ...ids, version: 1, name: 'a.md', ...file }),
      record('DocumentChunked', { ...ids, version: 1, chunkCount: 3, chunkTokens: 512, overlapTokens: 64, chunksSha256: 'b'.repeat(64) }),
      record('DocumentIndexed', { ...ids, version: 1, embeddingModel: null, dimensions: null, vectorsSha256: null }),
      record('DocumentVersionUploaded', { ...ids, version: 2, name: 'a.md', ...file, sha256: 'd'.repeat(64) }),
      record('DocumentEmbedded', { ...ids, version: 1, embeddingModel: 'new-model', dimensions: 64, vectorsSha256: 'e'.repeat(64) }),
    );
    expect(await getDocument(tx, 'u1', 'd1')).toMatchObject({
      status: 'uploaded', current_version: 2, indexed_version: 1, embedding_model: 'new-model', dimensions: 64,
    });
    expect(await spaces()).toEqual(['d1:1:new-model:64']);
    // A late DocumentEmbedded of a version no longer indexed changes nothing.
    await apply(
      record('DocumentChunked', { ...ids, version: 2, chunkCount: 2, chunkTokens: 512, overlapTokens: 64, chunksSha256: 'f'.repeat(64) }),
      record('DocumentIndexed', { ...ids, version: 2, embeddingModel: 'm', dimensions: 8, vectorsSha256: 'c'.repeat(64) }),
      record('DocumentEmbedded', { ...ids, version: 1, embeddingModel: 'other', dimensions: 16, vectorsSha256: 'e'.repeat(64) }),
    );
    expect(await getDocument(tx, 'u1', 'd1')).toMatchObject({ status: 'indexed', indexed_version: 2, embedding_model: 'm', dimensions: 8 });
    // Version 1's vectors left every space when version 2 was indexed; the late one is not recorded.
    expect(await spaces()).toEqual(['d1:2:m:8']);
    await apply(record('DocumentEmbedded', { ...ids, version: 2, embeddingModel: 'new-model', dimensions: 64, vectorsSha256: 'e'.repeat(64) }));
    expect(await spaces()).toEqual(['d1:2:m:8', 'd1:2:new-model:64']);
  });

  it('shows erased personal fields as null', async () => {
    await apply(
      record('DocumentUploaded', { ...ids, version: 1, name: '#erased', ...file }, ['name']),
      record('DocumentIngestionFailed', { ...ids, version: 1, stage: 'extraction', reason: 'empty', message: '#erased' }, ['message']),
      record('KnowledgeBaseCreated', { knowledgeBaseId: 'k1', ownerId: 'u1', name: '#erased', description: '#erased' }, ['name', 'description']),
    );
    expect(await getDocument(tx, 'u1', 'd1')).toMatchObject({ name: null, failure_message: null });
    expect(await getKnowledgeBase(tx, 'u1', 'k1')).toMatchObject({ name: null, description: null });
  });

  it('keeps knowledge bases and members; deleting a document or a base removes their rows; erasure removes everything', async () => {
    await apply(
      record('DocumentUploaded', { ...ids, version: 1, name: 'a.md', ...file }),
      record('DocumentUploaded', { documentId: 'd2', ownerId: 'u1', version: 1, name: 'b.md', ...file }),
      record('DocumentIndexed', { ...ids, version: 1, embeddingModel: 'm', dimensions: 8, vectorsSha256: 'c'.repeat(64) }),
      record('DocumentIndexed', { documentId: 'd2', ownerId: 'u1', version: 1, embeddingModel: 'm', dimensions: 8, vectorsSha256: 'c'.repeat(64) }),
      record('KnowledgeBaseCreated', { knowledgeBaseId: 'k1', ownerId: 'u1', name: 'Base', description: null }),
      record('KnowledgeBaseDocumentAdded', { knowledgeBaseId: 'k1', ownerId: 'u1', documentId: 'd2' }),
      record('KnowledgeBaseDocumentAdded', { knowledgeBaseId: 'k1', ownerId: 'u1', documentId: 'd1' }),
      record('KnowledgeBaseRenamed', { knowledgeBaseId: 'k1', ownerId: 'u1', name: 'Renamed' }),
    );
    expect((await knowledgeBaseDocuments(tx, 'u1', 'k1')).map((d) => d.document_id)).toEqual(['d2', 'd1']);
    expect((await listKnowledgeBases(tx, 'u1')).rows).toMatchObject([{ name: 'Renamed', document_count: 2 }]);
    expect(await spaces()).toEqual(['d1:1:m:8', 'd2:1:m:8']);
    await apply(record('DocumentDeleted', ids));
    expect(await getDocument(tx, 'u1', 'd1')).toBeNull();
    expect(await spaces()).toEqual(['d2:1:m:8']);
    expect((await knowledgeBaseDocuments(tx, 'u1', 'k1')).map((d) => d.document_id)).toEqual(['d2']);
    await apply(record('UserDataErased', { userId: 'u1' }));
    const { rows } = await db.query<{ n: number }>(`SELECT (SELECT count(*) FROM documents)::int + (SELECT count(*) FROM knowledge_bases)::int
      + (SELECT count(*) FROM knowledge_base_documents)::int + (SELECT count(*) FROM document_vector_spaces)::int AS n`);
    expect(rows[0]!.n).toBe(0);
  });
});
