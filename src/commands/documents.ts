import { DomainError } from '../domain/decider.ts';
import { checkId } from '../domain/identifiers.ts';
import {
  documentDecider, documentStream, type ChunkingFacts, type DocumentCommand, type EmbeddingFacts, type DocumentEvent, type DocumentState, type ExtractionFacts,
  type IndexingFacts, type IngestionFailure,
} from '../domain/document/document.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, loadAggregate, type CommandResult } from './execute-command.ts';

export interface DocumentCommandsDeps {
  store: EventStore;
}

export interface UploadDocumentInput {
  ownerId: string;
  name: string;
  mediaType: string;
  sha256: string;
  size: number;
  /** Normally left out: a new id is taken from the context. */
  documentId?: string;
}

export interface UploadDocumentVersionInput {
  documentId: string;
  actorId: string;
  /** Left out, the document keeps its name. */
  name?: string | null;
  mediaType: string;
  sha256: string;
  size: number;
}

interface VersionInput { documentId: string; version: number }

type DocumentResult = CommandResult<DocumentState, DocumentEvent>;

/** The version a command left current (the state is active after every successful document command but delete). */
function currentVersion(state: DocumentState): number {
  if (state.status !== 'active') throw new Error('Document is not active after an upload');
  return state.current.version;
}

/**
 * Document commands. Upload the file to the blob store first (it is content-addressed, so a retried
 * upload stores nothing twice), then record it here. The ingestion records are for the ingestion
 * reactor: each names the version it worked on, and one for a version that is no longer current is
 * refused with CONFLICT — the reactor then drops that work.
 */
export function createDocumentCommands({ store }: DocumentCommandsDeps) {
  const run = (command: DocumentCommand, context: CommandContext): Promise<DocumentResult> =>
    executeCommand(store, documentDecider, documentStream(command.documentId), command, context);

  return {
    run,

    async uploadDocument(input: UploadDocumentInput, context: CommandContext) {
      const documentId = input.documentId ?? context.newId();
      const result = await run({
        type: 'UploadDocument', documentId, ownerId: input.ownerId, name: input.name,
        mediaType: input.mediaType, sha256: input.sha256, size: input.size,
      }, context);
      return { documentId, version: currentVersion(result.state), ...result };
    },

    /** A retried request (the same file, name and type as the current version) records nothing and returns that version. */
    async uploadDocumentVersion(input: UploadDocumentVersionInput, context: CommandContext) {
      const result = await run({ type: 'UploadDocumentVersion', ...input }, context);
      return { documentId: input.documentId, version: currentVersion(result.state), ...result };
    },

    renameDocument(input: { documentId: string; actorId: string; name: string }, context: CommandContext) {
      return run({ type: 'RenameDocument', ...input }, context);
    },

    deleteDocument(input: { documentId: string; actorId: string }, context: CommandContext) {
      return run({ type: 'DeleteDocument', ...input }, context);
    },

    startExtraction(input: VersionInput, context: CommandContext) {
      return run({ type: 'StartExtraction', ...input }, context);
    },

    recordExtracted(input: VersionInput & ExtractionFacts, context: CommandContext) {
      return run({ type: 'RecordExtracted', ...input }, context);
    },

    recordChunked(input: VersionInput & ChunkingFacts, context: CommandContext) {
      return run({ type: 'RecordChunked', ...input }, context);
    },

    recordIndexed(input: VersionInput & IndexingFacts, context: CommandContext) {
      return run({ type: 'RecordIndexed', ...input }, context);
    },

    /** Vectors of another model for the indexed version (re-embedding); an identical repeat records nothing. */
    recordEmbedded(input: VersionInput & EmbeddingFacts, context: CommandContext) {
      return run({ type: 'RecordEmbedded', ...input }, context);
    },

    recordIngestionFailed(input: VersionInput & IngestionFailure, context: CommandContext) {
      return run({ type: 'RecordIngestionFailed', ...input }, context);
    },
  };
}

export type DocumentCommands = ReturnType<typeof createDocumentCommands>;

/** Throws NOT_FOUND unless the document exists, is not deleted and belongs to `ownerId`. */
export async function requireOwnDocument(store: EventStore, documentId: string, ownerId: string): Promise<void> {
  checkId(documentId, 'Document id');
  const { state } = await loadAggregate(store, documentDecider, documentStream(documentId));
  if (state.status !== 'active' || state.ownerId !== ownerId) throw new DomainError('NOT_FOUND', 'Document not found');
}
