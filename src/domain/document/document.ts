import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { checkId } from '../identifiers.ts';
import { checkText, sanitizeText } from '../text.ts';

/**
 * A document: an uploaded file and its versions, and how far the ingestion of its newest version has
 * come. The file bytes live in the blob store and the chunk texts in an encrypted content-addressed
 * artifact there; events only name them by sha256 (ARCHITECTURE.md §5, §10).
 *
 * Versions: uploading a new version makes it the current one at once, but the chunks and vectors of
 * the previously indexed version keep serving retrieval (`indexedVersion`) until the new version is
 * indexed: a failed re-index never loses the old index. Ingestion records for any version other than
 * the current one are refused with CONFLICT, so a late result of superseded work can never overwrite
 * a newer version's state.
 */

// --- limits ---------------------------------------------------------------------------------------

export const MAX_DOCUMENT_NAME_LENGTH = 255;
export const MAX_MEDIA_TYPE_LENGTH = 255;
export const MAX_DOCUMENT_VERSIONS = 1000;
/** Longer failure messages (from a parsing library, say) are cut to this many characters. */
export const MAX_FAILURE_MESSAGE_LENGTH = 1000;
export const MAX_EMBEDDING_MODEL_LENGTH = 200;
/** Far above any embedding model's, but a bound all the same. */
export const MAX_EMBEDDING_DIMENSIONS = 65_536;

// --- events, commands, state ----------------------------------------------------------------------

interface Ids { documentId: string; ownerId: string }
interface FileFacts { name: string; mediaType: string; sha256: string; size: number }

export type IngestionStage = 'extraction' | 'chunking' | 'embedding' | 'indexing';
export const INGESTION_STAGES: readonly IngestionStage[] = ['extraction', 'chunking', 'embedding', 'indexing'];

export interface ExtractionFacts { pages: number; characters: number; ocrPages: number }
export interface ChunkingFacts { chunkCount: number; chunkTokens: number; overlapTokens: number; chunksSha256: string }
/** A null embeddingModel means lexical only (no embedder configured): dimensions and vectorsSha256 are null too. */
export interface IndexingFacts { embeddingModel: string | null; dimensions: number | null; vectorsSha256: string | null }
/** Vectors of a version for one model. */
export interface EmbeddingFacts { embeddingModel: string; dimensions: number; vectorsSha256: string }
export interface IngestionFailure { stage: IngestionStage; reason: string; message: string }

export type DocumentUploaded = DomainEvent<'DocumentUploaded', Ids & FileFacts & { version: 1 }>;
/** `name` is the document's name from this version on. */
export type DocumentVersionUploaded = DomainEvent<'DocumentVersionUploaded', Ids & FileFacts & { version: number }>;
export type DocumentExtractionStarted = DomainEvent<'DocumentExtractionStarted', Ids & { version: number }>;
export type DocumentExtracted = DomainEvent<'DocumentExtracted', Ids & ExtractionFacts & { version: number }>;
/** The chunk texts are in the encrypted blob named by chunksSha256, never in the event. */
export type DocumentChunked = DomainEvent<'DocumentChunked', Ids & ChunkingFacts & { version: number }>;
export type DocumentIndexed = DomainEvent<'DocumentIndexed', Ids & IndexingFacts & { version: number }>;
/**
 * The indexed version's chunks were embedded again with another model (a model change, or vectors for
 * a version first indexed lexical-only); the vectors are in the blob named by vectorsSha256. From now
 * on this model's vectors are the version's serving ones; the chunks and the lexical index are unchanged.
 */
export type DocumentEmbedded = DomainEvent<'DocumentEmbedded', Ids & EmbeddingFacts & { version: number }>;
/** `reason` is a stable code ('timeout', 'type-mismatch', …); `message` says it for people. */
export type DocumentIngestionFailed = DomainEvent<'DocumentIngestionFailed', Ids & IngestionFailure & { version: number }>;
export type DocumentRenamed = DomainEvent<'DocumentRenamed', Ids & { name: string }>;
/** Terminal: afterwards every command on the stream fails with NOT_FOUND. */
export type DocumentDeleted = DomainEvent<'DocumentDeleted', Ids>;
/** Terminal, like a deletion: the retention policy's time ran out (src/domain/retention). Recorded by the system. */
export type DocumentExpired = DomainEvent<'DocumentExpired', Ids & { lastActivityAt: string; retentionDays: number }>;

export type DocumentEvent =
  | DocumentUploaded
  | DocumentVersionUploaded
  | DocumentExtractionStarted
  | DocumentExtracted
  | DocumentChunked
  | DocumentIndexed
  | DocumentEmbedded
  | DocumentIngestionFailed
  | DocumentRenamed
  | DocumentDeleted
  | DocumentExpired;

interface VersionRef { documentId: string; version: number }

export type DocumentCommand =
  | { type: 'UploadDocument'; documentId: string; ownerId: string; name: string; mediaType: string; sha256: string; size: number }
  /** Without a name the document keeps its current one. */
  | { type: 'UploadDocumentVersion'; documentId: string; actorId: string; name?: string | null; mediaType: string; sha256: string; size: number }
  | { type: 'RenameDocument'; documentId: string; actorId: string; name: string }
  | { type: 'DeleteDocument'; documentId: string; actorId: string }
  /** Issued by the retention reactor once the policy's time has run out since lastActivityAt (no actorId). */
  | { type: 'ExpireDocument'; documentId: string; lastActivityAt: string; retentionDays: number }
  // Issued by the ingestion reactor, not by a person: no actorId.
  | ({ type: 'StartExtraction' } & VersionRef)
  | ({ type: 'RecordExtracted' } & VersionRef & ExtractionFacts)
  | ({ type: 'RecordChunked' } & VersionRef & ChunkingFacts)
  | ({ type: 'RecordIndexed' } & VersionRef & IndexingFacts)
  /** For the indexed version (not the current one, which may be a newer version still being ingested). */
  | ({ type: 'RecordEmbedded' } & VersionRef & EmbeddingFacts)
  | ({ type: 'RecordIngestionFailed' } & VersionRef & IngestionFailure);

/** Where the ingestion of a version stands; 'failed' and 'indexed' are final for that version. */
export type IngestionStatus = 'uploaded' | 'extracting' | 'extracted' | 'chunked' | 'indexed' | 'failed';

export interface DocumentVersionState {
  version: number;
  mediaType: string;
  sha256: string;
  size: number;
  status: IngestionStatus;
  extractionStarted: boolean;
  extracted: ExtractionFacts | null;
  chunked: ChunkingFacts | null;
  indexed: IndexingFacts | null;
  failure: IngestionFailure | null;
}

export type DocumentState =
  | { status: 'none' }
  | {
      status: 'active'; documentId: string; ownerId: string; name: string;
      /** The newest version: the only one ingestion records are accepted for. */
      current: DocumentVersionState;
      /** The version whose chunks and vectors serve retrieval; null until one is indexed. */
      indexedVersion: number | null;
      /** The indexed version's chunks artifact (re-embedding reads it); null until one is indexed. */
      indexedChunksSha256: string | null;
      /** The indexed version's vectors, one entry per (model, dimensions); the last one serves. Empty when lexical only. */
      indexedEmbeddings: readonly EmbeddingFacts[];
    }
  | { status: 'deleted'; documentId: string; ownerId: string };

export type ActiveDocument = Extract<DocumentState, { status: 'active' }>;

export const documentStream = (documentId: string) => `document-${documentId}`;

/**
 * ownerId is the data subject. A file name says a lot about a person; a failure message may quote
 * the file's content (parsers do), so it is encrypted as well.
 */
/** New document events are sealed under the document's own key, so it can expire alone (retention). */
const DOCUMENT_KEY = { kind: 'document', field: 'documentId' } as const;

export const documentPersonalData: Readonly<Record<string, PersonalFields>> = {
  DocumentUploaded: { subjectField: 'ownerId', fields: ['name'], keyScope: DOCUMENT_KEY },
  DocumentVersionUploaded: { subjectField: 'ownerId', fields: ['name'], keyScope: DOCUMENT_KEY },
  DocumentRenamed: { subjectField: 'ownerId', fields: ['name'], keyScope: DOCUMENT_KEY },
  DocumentIngestionFailed: { subjectField: 'ownerId', fields: ['message'], keyScope: DOCUMENT_KEY },
};

// --- validation -----------------------------------------------------------------------------------

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

/** Trimmed; 1 to MAX_DOCUMENT_NAME_LENGTH characters on one line. */
export function normalizeDocumentName(raw: unknown): string {
  const name = checkText(raw ?? '', 'Name', 'single-line').trim();
  if (name.length === 0 || name.length > MAX_DOCUMENT_NAME_LENGTH) throw bad(`Name must be 1 to ${MAX_DOCUMENT_NAME_LENGTH} characters`);
  return name;
}

// RFC 6838 restricted names for type and subtype; parameters as token=token or token="quoted".
const TOKEN = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
const PARAMETER = `\\s*;\\s*[A-Za-z0-9!#$&^_.+-]+=(?:[A-Za-z0-9!#$&^_.+-]+|"[^"\\\\]*")`;
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})((?:${PARAMETER})*)$`);

/** `type/subtype` with optional parameters; type and subtype are lower-cased, parameters kept as sent. */
export function normalizeMediaType(raw: unknown): string {
  const value = checkText(raw ?? '', 'Media type', 'single-line').trim();
  if (value.length > MAX_MEDIA_TYPE_LENGTH) throw bad(`Media type must be at most ${MAX_MEDIA_TYPE_LENGTH} characters`);
  const match = MEDIA_TYPE.exec(value);
  if (!match) throw bad('Media type must look like type/subtype, e.g. application/pdf');
  return `${match[1]!.toLowerCase()}/${match[2]!.toLowerCase()}${match[3]}`;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** 64 hex digits, lower-cased. */
export function normalizeSha256(raw: unknown, name = 'sha256'): string {
  const value = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (!SHA256.test(value)) throw bad(`${name} must be 64 hexadecimal digits`);
  return value;
}

function count(value: unknown, name: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw bad(`${name} must be an integer of at least ${min}`);
  return value;
}

function checkVersion(value: unknown): number {
  return count(value, 'Version', 1);
}

function fileFacts(command: { mediaType: unknown; sha256: unknown; size: unknown }) {
  return {
    mediaType: normalizeMediaType(command.mediaType),
    sha256: normalizeSha256(command.sha256),
    size: count(command.size, 'Size'),
  };
}

function extractionFacts(command: ExtractionFacts): ExtractionFacts {
  const pages = count(command.pages, 'pages');
  const ocrPages = count(command.ocrPages, 'ocrPages');
  if (ocrPages > pages) throw bad('ocrPages must not exceed pages');
  return { pages, characters: count(command.characters, 'characters'), ocrPages };
}

function chunkingFacts(command: ChunkingFacts): ChunkingFacts {
  const chunkTokens = count(command.chunkTokens, 'chunkTokens', 1);
  const overlapTokens = count(command.overlapTokens, 'overlapTokens');
  if (overlapTokens >= chunkTokens) throw bad('overlapTokens must be smaller than chunkTokens');
  return { chunkCount: count(command.chunkCount, 'chunkCount'), chunkTokens, overlapTokens, chunksSha256: normalizeSha256(command.chunksSha256, 'chunksSha256') };
}

function indexingFacts(command: IndexingFacts): IndexingFacts {
  if (command.embeddingModel === null || command.embeddingModel === undefined) {
    if ((command.dimensions ?? null) !== null || (command.vectorsSha256 ?? null) !== null) {
      throw bad('A lexical-only index (no embedding model) has no dimensions and no vectors');
    }
    return { embeddingModel: null, dimensions: null, vectorsSha256: null };
  }
  const model = checkText(command.embeddingModel, 'embeddingModel', 'single-line').trim();
  if (model.length === 0 || model.length > MAX_EMBEDDING_MODEL_LENGTH) throw bad(`embeddingModel must be 1 to ${MAX_EMBEDDING_MODEL_LENGTH} characters`);
  const dimensions = count(command.dimensions, 'dimensions', 1);
  if (dimensions > MAX_EMBEDDING_DIMENSIONS) throw bad(`dimensions must be at most ${MAX_EMBEDDING_DIMENSIONS}`);
  const vectorsSha256 = command.vectorsSha256 === null || command.vectorsSha256 === undefined ? null : normalizeSha256(command.vectorsSha256, 'vectorsSha256');
  return { embeddingModel: model, dimensions, vectorsSha256 };
}

function embeddingFacts(command: EmbeddingFacts): EmbeddingFacts {
  if (command.embeddingModel === null || command.embeddingModel === undefined) throw bad('embeddingModel is required');
  const facts = indexingFacts({ ...command, vectorsSha256: normalizeSha256(command.vectorsSha256, 'vectorsSha256') });
  return { embeddingModel: facts.embeddingModel!, dimensions: facts.dimensions!, vectorsSha256: facts.vectorsSha256! };
}

const sameSpace = (a: EmbeddingFacts, b: EmbeddingFacts) => a.embeddingModel === b.embeddingModel && a.dimensions === b.dimensions;

const REASON = /^[a-z][a-z0-9-]{0,63}$/;

function ingestionFailure(command: IngestionFailure): IngestionFailure {
  if (!INGESTION_STAGES.includes(command.stage)) throw bad(`stage must be one of ${INGESTION_STAGES.join(', ')}`);
  if (typeof command.reason !== 'string' || !REASON.test(command.reason)) throw bad('reason must be a lower-case code such as timeout or type-mismatch');
  const message = sanitizeText(typeof command.message === 'string' ? command.message : '').trim().slice(0, MAX_FAILURE_MESSAGE_LENGTH);
  return { stage: command.stage, reason: command.reason, message };
}

function sameFacts(a: object, b: object): boolean {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => left[key] === right[key]);
}

// --- guards ---------------------------------------------------------------------------------------

const notFound = () => new DomainError('NOT_FOUND', 'Document not found');

function requireExisting(state: DocumentState): ActiveDocument {
  if (state.status !== 'active') throw notFound();
  return state;
}

/** A non-owner gets NOT_FOUND, not FORBIDDEN: whether someone else's document exists is not theirs to learn. */
function requireOwned(state: DocumentState, actorId: string): ActiveDocument {
  const document = requireExisting(state);
  if (document.ownerId !== actorId) throw notFound();
  return document;
}

/** Only the current version takes ingestion records: an older one's are late results of superseded work. */
function requireCurrentVersion(state: DocumentState, rawVersion: unknown): ActiveDocument {
  const document = requireExisting(state);
  const version = checkVersion(rawVersion);
  if (version > document.current.version) throw new DomainError('NOT_FOUND', `Document version ${version} not found`);
  if (version < document.current.version) {
    throw new DomainError('CONFLICT', `Version ${version} is superseded by version ${document.current.version}`);
  }
  return document;
}

const outOfOrder = (record: string, status: IngestionStatus) =>
  new DomainError('CONFLICT', `Cannot record ${record} while the version is ${status}`);
const recordedOtherwise = (record: string) =>
  new DomainError('CONFLICT', `${record} was already recorded for this version with other values`);

/**
 * One ingestion step: recorded when the version is at `from`; an identical repeat of a step already
 * recorded (a reactor retrying after a crash) is a no-op; anything else is out of order.
 */
function step<F extends object>(document: ActiveDocument, record: string, from: IngestionStatus, recorded: F | null, facts: F): 'record' | 'repeat' {
  if (recorded !== null) {
    if (sameFacts(recorded, facts)) return 'repeat';
    throw recordedOtherwise(record);
  }
  if (document.current.status !== from) throw outOfOrder(record, document.current.status);
  return 'record';
}

/** Which statuses a failure at each stage may follow. */
const FAILABLE_FROM: Readonly<Record<IngestionStage, readonly IngestionStatus[]>> = {
  extraction: ['uploaded', 'extracting'],
  chunking: ['extracted'],
  embedding: ['chunked'],
  indexing: ['chunked'],
};

// --- evolve helpers -------------------------------------------------------------------------------

function newVersion(version: number, facts: Omit<FileFacts, 'name'>): DocumentVersionState {
  return {
    version, mediaType: facts.mediaType, sha256: facts.sha256, size: facts.size, status: 'uploaded',
    extractionStarted: false, extracted: null, chunked: null, indexed: null, failure: null,
  };
}

function updateCurrent(state: DocumentState, change: Partial<DocumentVersionState>): DocumentState {
  if (state.status !== 'active') return state;
  return { ...state, current: { ...state.current, ...change } };
}

// --- decider --------------------------------------------------------------------------------------

export const documentDecider: Decider<DocumentCommand, DocumentState, DocumentEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state, event) {
    switch (event.type) {
      case 'DocumentUploaded': {
        const d = event.data;
        return {
          status: 'active', documentId: d.documentId, ownerId: d.ownerId, name: d.name, current: newVersion(d.version, d),
          indexedVersion: null, indexedChunksSha256: null, indexedEmbeddings: [],
        };
      }
      case 'DocumentVersionUploaded':
        return state.status === 'active' ? { ...state, name: event.data.name, current: newVersion(event.data.version, event.data) } : state;
      case 'DocumentExtractionStarted':
        return updateCurrent(state, { status: 'extracting', extractionStarted: true });
      case 'DocumentExtracted': {
        const { pages, characters, ocrPages } = event.data;
        return updateCurrent(state, { status: 'extracted', extracted: { pages, characters, ocrPages } });
      }
      case 'DocumentChunked': {
        const { chunkCount, chunkTokens, overlapTokens, chunksSha256 } = event.data;
        return updateCurrent(state, { status: 'chunked', chunked: { chunkCount, chunkTokens, overlapTokens, chunksSha256 } });
      }
      case 'DocumentIndexed': {
        const { embeddingModel, dimensions, vectorsSha256, version } = event.data;
        const updated = updateCurrent(state, { status: 'indexed', indexed: { embeddingModel, dimensions, vectorsSha256 } });
        if (updated.status !== 'active') return updated;
        return {
          ...updated, indexedVersion: version, indexedChunksSha256: updated.current.chunked?.chunksSha256 ?? null,
          indexedEmbeddings: embeddingModel !== null && dimensions !== null && vectorsSha256 !== null ? [{ embeddingModel, dimensions, vectorsSha256 }] : [],
        };
      }
      case 'DocumentEmbedded': {
        if (state.status !== 'active' || state.indexedVersion !== event.data.version) return state;
        const { embeddingModel, dimensions, vectorsSha256 } = event.data;
        const facts = { embeddingModel, dimensions, vectorsSha256 };
        return { ...state, indexedEmbeddings: [...state.indexedEmbeddings.filter((e) => !sameSpace(e, facts)), facts] };
      }
      case 'DocumentIngestionFailed': {
        const { stage, reason, message } = event.data;
        return updateCurrent(state, { status: 'failed', failure: { stage, reason, message } });
      }
      case 'DocumentRenamed':
        return state.status === 'active' ? { ...state, name: event.data.name } : state;
      case 'DocumentDeleted':
      case 'DocumentExpired':
        return { status: 'deleted', documentId: event.data.documentId, ownerId: event.data.ownerId };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'UploadDocument': {
        // Any existing stream, even a deleted document's: its id is never reused.
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Document already exists');
        return [{
          type: 'DocumentUploaded',
          data: {
            documentId: checkId(command.documentId, 'Document id'), ownerId: checkId(command.ownerId, 'Owner id'),
            version: 1, name: normalizeDocumentName(command.name), ...fileFacts(command),
          },
        }];
      }

      case 'UploadDocumentVersion': {
        const document = requireOwned(state, command.actorId);
        const name = command.name === null || command.name === undefined ? document.name : normalizeDocumentName(command.name);
        const facts = fileFacts(command);
        const { current } = document;
        // The same file again is a retried request, unless the current version failed: then it is a retry of the ingestion.
        if (current.status !== 'failed' && name === document.name && sameFacts(facts, { mediaType: current.mediaType, sha256: current.sha256, size: current.size })) {
          return [];
        }
        if (current.version >= MAX_DOCUMENT_VERSIONS) throw bad(`A document can have at most ${MAX_DOCUMENT_VERSIONS} versions`);
        return [{
          type: 'DocumentVersionUploaded',
          data: { documentId: document.documentId, ownerId: document.ownerId, version: current.version + 1, name, ...facts },
        }];
      }

      case 'RenameDocument': {
        const document = requireOwned(state, command.actorId);
        const name = normalizeDocumentName(command.name);
        if (name === document.name) return [];
        return [{ type: 'DocumentRenamed', data: { documentId: document.documentId, ownerId: document.ownerId, name } }];
      }

      case 'DeleteDocument': {
        const document = requireOwned(state, command.actorId);
        return [{ type: 'DocumentDeleted', data: { documentId: document.documentId, ownerId: document.ownerId } }];
      }

      case 'ExpireDocument': {
        if (state.status !== 'active') return [];
        return [{ type: 'DocumentExpired', data: {
          documentId: state.documentId, ownerId: state.ownerId, lastActivityAt: command.lastActivityAt, retentionDays: command.retentionDays,
        } }];
      }

      case 'StartExtraction': {
        const document = requireCurrentVersion(state, command.version);
        const ids = { documentId: document.documentId, ownerId: document.ownerId, version: document.current.version };
        if (document.current.extractionStarted) return [];
        if (document.current.status !== 'uploaded') throw outOfOrder('the start of extraction', document.current.status);
        return [{ type: 'DocumentExtractionStarted', data: ids }];
      }

      case 'RecordExtracted': {
        const document = requireCurrentVersion(state, command.version);
        const facts = extractionFacts(command);
        if (step(document, 'extraction', 'extracting', document.current.extracted, facts) === 'repeat') return [];
        return [{ type: 'DocumentExtracted', data: { documentId: document.documentId, ownerId: document.ownerId, version: document.current.version, ...facts } }];
      }

      case 'RecordChunked': {
        const document = requireCurrentVersion(state, command.version);
        const facts = chunkingFacts(command);
        if (step(document, 'chunking', 'extracted', document.current.chunked, facts) === 'repeat') return [];
        return [{ type: 'DocumentChunked', data: { documentId: document.documentId, ownerId: document.ownerId, version: document.current.version, ...facts } }];
      }

      case 'RecordIndexed': {
        const document = requireCurrentVersion(state, command.version);
        const facts = indexingFacts(command);
        if (step(document, 'indexing', 'chunked', document.current.indexed, facts) === 'repeat') return [];
        return [{ type: 'DocumentIndexed', data: { documentId: document.documentId, ownerId: document.ownerId, version: document.current.version, ...facts } }];
      }

      case 'RecordEmbedded': {
        const document = requireExisting(state);
        const version = checkVersion(command.version);
        if (version > document.current.version) throw new DomainError('NOT_FOUND', `Document version ${version} not found`);
        if (document.indexedVersion === null) throw new DomainError('CONFLICT', 'The document has no indexed version to embed');
        if (version !== document.indexedVersion) {
          throw new DomainError('CONFLICT', `Version ${version} is not the indexed version ${document.indexedVersion}`);
        }
        const facts = embeddingFacts(command);
        // Only the serving embedding counts as already there: switching back to a model used before records it again.
        const serving = document.indexedEmbeddings.at(-1);
        if (serving && sameSpace(serving, facts)) {
          if (serving.vectorsSha256 === facts.vectorsSha256) return [];
          throw recordedOtherwise('embedding with this model');
        }
        return [{ type: 'DocumentEmbedded', data: { documentId: document.documentId, ownerId: document.ownerId, version, ...facts } }];
      }

      case 'RecordIngestionFailed': {
        const document = requireCurrentVersion(state, command.version);
        const failure = ingestionFailure(command);
        const { current } = document;
        if (current.failure !== null) {
          if (sameFacts(current.failure, failure)) return [];
          throw new DomainError('CONFLICT', `Ingestion of version ${current.version} has already failed`);
        }
        if (!FAILABLE_FROM[failure.stage].includes(current.status)) {
          throw new DomainError('CONFLICT', `Cannot record a failure of ${failure.stage} while the version is ${current.status}`);
        }
        return [{ type: 'DocumentIngestionFailed', data: { documentId: document.documentId, ownerId: document.ownerId, version: current.version, ...failure } }];
      }
    }
  },

  schemaVersions: {
    DocumentUploaded: 1,
    DocumentVersionUploaded: 1,
    DocumentExtractionStarted: 1,
    DocumentExtracted: 1,
    DocumentChunked: 1,
    DocumentIndexed: 1,
    DocumentEmbedded: 1,
    DocumentIngestionFailed: 1,
    DocumentRenamed: 1,
    DocumentDeleted: 1,
    DocumentExpired: 1,
  },
};
