import { documentDecider, documentStream, type DocumentEvent } from '../domain/document/document.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { DocumentRow } from './documents-queries.ts';

/**
 * Time travel for documents: the document as it was at `asOf`, folded with the domain's evolve from
 * the stream's events up to the first one recorded after `asOf` (a prefix, as for conversations).
 * Null when it did not exist yet or was deleted by then.
 */
export async function documentAsOf(store: EventStore, documentId: string, asOf: Date): Promise<DocumentRow | null> {
  const events = await store.readStream(documentStream(documentId));
  const cut = events.findIndex((event) => Date.parse(event.metadata.occurredAt) > asOf.getTime());
  const prefix = cut === -1 ? events : events.slice(0, cut);
  let state = documentDecider.initialState();
  for (const recorded of prefix) state = documentDecider.evolve(state, { type: recorded.type, data: recorded.data } as DocumentEvent);
  if (state.status !== 'active') return null;
  const current = state.current;
  const nameEvent = prefix.findLast((e) => ['DocumentUploaded', 'DocumentVersionUploaded', 'DocumentRenamed'].includes(e.type));
  const failureEvent = prefix.findLast((e) => e.type === 'DocumentIngestionFailed');
  const indexedEmbedding = state.indexedEmbeddings.at(-1) ?? null;
  const first = prefix[0]!;
  return {
    document_id: state.documentId, owner_id: state.ownerId, name: erased(nameEvent, 'name') ? null : state.name,
    media_type: current.mediaType, size: current.size, sha256: current.sha256, current_version: current.version, status: current.status,
    pages: current.extracted?.pages ?? null, characters: current.extracted?.characters ?? null, ocr_pages: current.extracted?.ocrPages ?? null,
    chunk_count: current.chunked?.chunkCount ?? null,
    failure_stage: current.failure?.stage ?? null, failure_reason: current.failure?.reason ?? null,
    failure_message: current.failure && !erased(failureEvent, 'message') ? current.failure.message : null,
    indexed_version: state.indexedVersion, embedding_model: indexedEmbedding?.embeddingModel ?? null, dimensions: indexedEmbedding?.dimensions ?? null,
    created_at: first.metadata.occurredAt, updated_at: prefix.at(-1)!.metadata.occurredAt, created_seq: first.position.toString(),
  };
}

const erased = (event: RecordedEvent | undefined, field: string) => event?.erasedFields?.includes(field) ?? false;
