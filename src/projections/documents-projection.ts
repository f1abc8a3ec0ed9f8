import type { DocumentEvent } from '../domain/document/document.ts';
import type { KnowledgeBaseEvent } from '../domain/knowledge-base/knowledge-base.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';
import { personalField, type Projection } from './projection.ts';

/** Resets what describes the ingestion of the current version (a new version starts over). */
const RESET_INGESTION = `status = 'uploaded', pages = NULL, characters = NULL, ocr_pages = NULL, chunk_count = NULL,
  failure_stage = NULL, failure_reason = NULL, failure_message = NULL`;

/** Records that `space` holds the vectors of the document's indexed version `version` (when it is still the indexed one). */
const RECORD_SPACE = `INSERT INTO document_vector_spaces (document_id, owner_id, version, embedding_model, dimensions)
  SELECT document_id, owner_id, indexed_version, $3, $4 FROM documents WHERE document_id = $1 AND indexed_version = $2
  ON CONFLICT (document_id, embedding_model, dimensions) DO UPDATE SET version = EXCLUDED.version`;

/**
 * Documents, knowledge bases and their membership (migration 0007), and which vector spaces hold
 * each document's indexed version (0012). Every handler sets values rather
 * than incrementing, so applying an event twice leaves the rows as once. A deleted document or base
 * and everything of an erased owner is removed, not flagged.
 */
export const documentsProjection: Projection = {
  name: 'documents',
  tables: ['documents', 'knowledge_bases', 'knowledge_base_documents', 'document_vector_spaces'],
  eventTypes: [
    'DocumentUploaded', 'DocumentVersionUploaded', 'DocumentExtractionStarted', 'DocumentExtracted', 'DocumentChunked',
    'DocumentIndexed', 'DocumentEmbedded', 'DocumentIngestionFailed', 'DocumentRenamed', 'DocumentDeleted', 'DocumentExpired',
    'KnowledgeBaseCreated', 'KnowledgeBaseRenamed', 'KnowledgeBaseDescriptionChanged', 'KnowledgeBaseDocumentAdded',
    'KnowledgeBaseDocumentRemoved', 'KnowledgeBaseDeleted',
    ERASURE_EVENT,
  ],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as DocumentEvent | KnowledgeBaseEvent | { type: typeof ERASURE_EVENT; data: { userId: string } };
    const at = recorded.metadata.occurredAt;
    const seq = recorded.position.toString();
    switch (event.type) {
      case 'DocumentUploaded': {
        const d = event.data;
        await tx.query(
          `INSERT INTO documents (document_id, owner_id, name, media_type, size, sha256, current_version, status, created_at, updated_at, created_seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'uploaded', $8, $8, $9)
           ON CONFLICT (document_id) DO NOTHING`,
          [d.documentId, d.ownerId, personalField(recorded, 'name', d.name), d.mediaType, d.size, d.sha256, d.version, at, seq]);
        return;
      }
      case 'DocumentVersionUploaded': {
        const d = event.data;
        await tx.query(
          `UPDATE documents SET name = $2, media_type = $3, size = $4, sha256 = $5, current_version = $6, ${RESET_INGESTION},
             updated_at = GREATEST(updated_at, $7::timestamptz)
           WHERE document_id = $1 AND current_version <= $6`,
          [d.documentId, personalField(recorded, 'name', d.name), d.mediaType, d.size, d.sha256, d.version, at]);
        return;
      }
      case 'DocumentExtractionStarted':
        await setStage(event.data, at, `status = 'extracting'`, []);
        return;
      case 'DocumentExtracted':
        await setStage(event.data, at, `status = 'extracted', pages = $4, characters = $5, ocr_pages = $6`,
          [event.data.pages, event.data.characters, event.data.ocrPages]);
        return;
      case 'DocumentChunked':
        await setStage(event.data, at, `status = 'chunked', chunk_count = $4`, [event.data.chunkCount]);
        return;
      case 'DocumentIndexed':
        await setStage(event.data, at, `status = 'indexed', indexed_version = $3, embedding_model = $4, dimensions = $5`,
          [event.data.embeddingModel, event.data.dimensions]);
        // The vector indexer removes older versions' vectors from every space on this event.
        await tx.query('DELETE FROM document_vector_spaces WHERE document_id = $1 AND version < $2', [event.data.documentId, event.data.version]);
        if (event.data.embeddingModel !== null && event.data.dimensions !== null) {
          await tx.query(RECORD_SPACE, [event.data.documentId, event.data.version, event.data.embeddingModel, event.data.dimensions]);
        }
        return;
      case 'DocumentEmbedded':
        // The indexed version now serves this model's vectors; the status (of the current version) is not touched.
        await tx.query(
          `UPDATE documents SET embedding_model = $3, dimensions = $4, updated_at = GREATEST(updated_at, $5::timestamptz)
           WHERE document_id = $1 AND indexed_version = $2`,
          [event.data.documentId, event.data.version, event.data.embeddingModel, event.data.dimensions, at]);
        await tx.query(RECORD_SPACE, [event.data.documentId, event.data.version, event.data.embeddingModel, event.data.dimensions]);
        return;
      case 'DocumentIngestionFailed':
        await setStage(event.data, at, `status = 'failed', failure_stage = $4, failure_reason = $5, failure_message = $6`,
          [event.data.stage, event.data.reason, personalField(recorded, 'message', event.data.message)]);
        return;
      case 'DocumentRenamed':
        await tx.query('UPDATE documents SET name = $2, updated_at = GREATEST(updated_at, $3::timestamptz) WHERE document_id = $1',
          [event.data.documentId, personalField(recorded, 'name', event.data.name), at]);
        return;
      case 'DocumentDeleted':
      case 'DocumentExpired':
        await tx.query('DELETE FROM knowledge_base_documents WHERE document_id = $1', [event.data.documentId]);
        await tx.query('DELETE FROM document_vector_spaces WHERE document_id = $1', [event.data.documentId]);
        await tx.query('DELETE FROM documents WHERE document_id = $1', [event.data.documentId]);
        return;
      case 'KnowledgeBaseCreated': {
        const d = event.data;
        await tx.query(
          `INSERT INTO knowledge_bases (knowledge_base_id, owner_id, name, description, created_at, updated_at, created_seq)
           VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (knowledge_base_id) DO NOTHING`,
          [d.knowledgeBaseId, d.ownerId, personalField(recorded, 'name', d.name), personalField(recorded, 'description', d.description), at, seq]);
        return;
      }
      case 'KnowledgeBaseRenamed':
        await tx.query('UPDATE knowledge_bases SET name = $2, updated_at = GREATEST(updated_at, $3::timestamptz) WHERE knowledge_base_id = $1',
          [event.data.knowledgeBaseId, personalField(recorded, 'name', event.data.name), at]);
        return;
      case 'KnowledgeBaseDescriptionChanged':
        await tx.query('UPDATE knowledge_bases SET description = $2, updated_at = GREATEST(updated_at, $3::timestamptz) WHERE knowledge_base_id = $1',
          [event.data.knowledgeBaseId, personalField(recorded, 'description', event.data.description), at]);
        return;
      case 'KnowledgeBaseDocumentAdded':
        // A document deleted later in the log must not come back when the log is replayed: only live documents join.
        await tx.query(
          `INSERT INTO knowledge_base_documents (knowledge_base_id, document_id, owner_id, added_seq)
           SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM knowledge_bases WHERE knowledge_base_id = $1)
           ON CONFLICT (knowledge_base_id, document_id) DO NOTHING`,
          [event.data.knowledgeBaseId, event.data.documentId, event.data.ownerId, seq]);
        await touchBase(event.data.knowledgeBaseId, at);
        return;
      case 'KnowledgeBaseDocumentRemoved':
        await tx.query('DELETE FROM knowledge_base_documents WHERE knowledge_base_id = $1 AND document_id = $2',
          [event.data.knowledgeBaseId, event.data.documentId]);
        await touchBase(event.data.knowledgeBaseId, at);
        return;
      case 'KnowledgeBaseDeleted':
        await tx.query('DELETE FROM knowledge_base_documents WHERE knowledge_base_id = $1', [event.data.knowledgeBaseId]);
        await tx.query('DELETE FROM knowledge_bases WHERE knowledge_base_id = $1', [event.data.knowledgeBaseId]);
        return;
      case ERASURE_EVENT: {
        const owner = event.data.userId;
        await tx.query('DELETE FROM knowledge_base_documents WHERE owner_id = $1', [owner]);
        await tx.query('DELETE FROM knowledge_bases WHERE owner_id = $1', [owner]);
        await tx.query('DELETE FROM document_vector_spaces WHERE owner_id = $1', [owner]);
        await tx.query('DELETE FROM documents WHERE owner_id = $1', [owner]);
        return;
      }
    }

    /** Applies a stage of a version, only while that version is the current one. */
    async function setStage(d: { documentId: string; version: number }, when: string, set: string, values: unknown[]): Promise<void> {
      await tx.query(`UPDATE documents SET ${set}, updated_at = GREATEST(updated_at, $2::timestamptz) WHERE document_id = $1 AND current_version = $3`,
        // $3 is both the version guard and, for DocumentIndexed, the indexed version.
        [d.documentId, when, d.version, ...values]);
    }

    async function touchBase(knowledgeBaseId: string, when: string): Promise<void> {
      await tx.query('UPDATE knowledge_bases SET updated_at = GREATEST(updated_at, $2::timestamptz) WHERE knowledge_base_id = $1', [knowledgeBaseId, when]);
    }
  },
};
