import { z } from 'zod';
import { MAX_DOCUMENT_NAME_LENGTH } from '../../domain/document/document.ts';
import { MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH, MAX_KNOWLEDGE_BASE_NAME_LENGTH } from '../../domain/knowledge-base/knowledge-base.ts';
import { documentStream } from '../../domain/document/document.ts';
import type { RecordedEvent } from '../../infra/event-store/port.ts';
import {
  chunksByIds, documentChunks, getDocument, getKnowledgeBase, knowledgeBaseDocuments, listDocuments, listKnowledgeBases, MAX_PAGE_SIZE,
  type ChunkRow, type DocumentRow, type KnowledgeBaseRow, type Page,
} from '../../projections/documents-queries.ts';
import { MAX_RETRIEVAL_LIMIT, retrieve, type RetrievalHit, type RetrievalResult } from '../../projections/retrieval.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { recordUpload } from '../document-upload.ts';
import { clientError } from '../errors.ts';
import { mergeStreams } from '../merge-streams.ts';
import { settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';
import { ownDocumentAsOf } from './time-travel.ts';

const MAX_QUERY_LENGTH = 2_000;
const MAX_IDS = 100;
/** How long a subscriber waits for the read model to show an event it was told of, before showing what it has. */
const SNAPSHOT_WAIT_MS = 5_000;
const VECTOR_EVENTS = new Set(['DocumentIndexed', 'DocumentEmbedded', 'DocumentDeleted']);

const id = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const ids = z.array(id).max(MAX_IDS, `must list at most ${MAX_IDS} ids`);
const cursor = z.string().max(200, 'must be at most 200 characters');
const first = z.number().int().min(1, 'must be at least 1').max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`);

builder.scalarType('File', {
  description: 'A file of a multipart request (the GraphQL multipart request specification)',
  serialize: () => {
    throw new Error('File is an input-only scalar');
  },
  parseValue: (value) => {
    // yoga's multipart parser gives its own File implementation, not Node's global class.
    const file = value as File | null;
    if (typeof file !== 'object' || file === null || typeof file.stream !== 'function' || typeof file.name !== 'string') {
      throw clientError('BAD_USER_INPUT', 'Expected a file part of a multipart request');
    }
    return file;
  },
});

// --- types ----------------------------------------------------------------------------------------

const IngestionFailure = builder.objectRef<DocumentRow>('IngestionFailure').implement({
  description: 'Why ingesting the current version failed',
  fields: (t) => ({
    stage: t.string({ resolve: (d) => d.failure_stage ?? 'extraction' }),
    reason: t.string({ description: 'A stable code: timeout, type-mismatch, malformed, too-many-pages, empty, no-text, …', resolve: (d) => d.failure_reason ?? 'unknown' }),
    message: t.string({ nullable: true, resolve: (d) => d.failure_message }),
  }),
});

export const Document = builder.objectRef<DocumentRow>('Document').implement({
  description: 'A file you uploaded, and how far its ingestion got',
  fields: (t) => ({
    id: t.id({ resolve: (d) => d.document_id }),
    name: t.string({ nullable: true, description: 'Null once erased', resolve: (d) => d.name }),
    mediaType: t.string({ resolve: (d) => d.media_type }),
    size: t.float({ description: 'Bytes', resolve: (d) => Number(d.size) }),
    sha256: t.string({ resolve: (d) => d.sha256 }),
    version: t.int({ description: 'The current (newest) version', resolve: (d) => d.current_version }),
    status: t.string({ description: 'uploaded, extracting, extracted, chunked, indexed or failed (of the current version)', resolve: (d) => d.status }),
    indexedVersion: t.int({ nullable: true, description: 'The version answers are retrieved from', resolve: (d) => d.indexed_version }),
    pages: t.int({ nullable: true, resolve: (d) => d.pages }),
    characters: t.float({ nullable: true, resolve: (d) => (d.characters === null ? null : Number(d.characters)) }),
    ocrPages: t.int({ nullable: true, resolve: (d) => d.ocr_pages }),
    chunkCount: t.int({ nullable: true, resolve: (d) => d.chunk_count }),
    embeddingModel: t.string({ nullable: true, description: 'Null: indexed for lexical retrieval only', resolve: (d) => d.embedding_model }),
    dimensions: t.int({ nullable: true, resolve: (d) => d.dimensions }),
    failure: t.field({ type: IngestionFailure, nullable: true, resolve: (d) => (d.status === 'failed' ? d : null) }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (d) => d.updated_at }),
  }),
});

export const KnowledgeBase = builder.objectRef<KnowledgeBaseRow>('KnowledgeBase').implement({
  fields: (t) => ({
    id: t.id({ resolve: (k) => k.knowledge_base_id }),
    name: t.string({ nullable: true, description: 'Null once erased', resolve: (k) => k.name }),
    description: t.string({ nullable: true, resolve: (k) => k.description }),
    documentCount: t.int({ resolve: (k) => k.document_count }),
    documents: t.field({
      type: [Document],
      resolve: (k, _args, context) => knowledgeBaseDocuments(context.services.readDb, requireViewer(context).userId, k.knowledge_base_id),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (k) => k.updated_at }),
  }),
});

interface PageView<Row> { page: Page<Row> }
function pageType<Row>(name: string, node: typeof Document | typeof KnowledgeBase) {
  return builder.objectRef<PageView<Row>>(name).implement({
    fields: (t) => ({
      nodes: t.field({ type: [node] as never, resolve: (p) => p.page.rows as never }),
      endCursor: t.string({ nullable: true, description: 'Pass as `after` for the next page', resolve: (p) => p.page.endCursor }),
      hasNextPage: t.boolean({ resolve: (p) => p.page.hasNextPage }),
    }),
  });
}
const DocumentPage = pageType<DocumentRow>('DocumentPage', Document);
const KnowledgeBasePage = pageType<KnowledgeBaseRow>('KnowledgeBasePage', KnowledgeBase);

const DocumentChunk = builder.objectRef<ChunkRow>('DocumentChunk').implement({
  description: 'A passage of a document as it was split for retrieval: what a citation points at',
  fields: (t) => ({
    id: t.id({ resolve: (c) => c.chunk_id }),
    documentId: t.id({ resolve: (c) => c.document_id }),
    documentVersion: t.int({ resolve: (c) => c.version }),
    index: t.int({ description: 'Its position in the document version, from 0', resolve: (c) => c.chunk_index }),
    page: t.int({ nullable: true, resolve: (c) => c.page }),
    headingPath: t.stringList({ resolve: (c) => c.heading_path }),
    text: t.string({ resolve: (c) => c.text }),
  }),
});

const DocumentChunkPage = builder.objectRef<Page<ChunkRow>>('DocumentChunkPage').implement({
  fields: (t) => ({
    nodes: t.field({ type: [DocumentChunk], resolve: (p) => p.rows }),
    endCursor: t.string({ nullable: true, description: 'Pass as `after` for the next page', resolve: (p) => p.endCursor }),
    hasNextPage: t.boolean({ resolve: (p) => p.hasNextPage }),
  }),
});

builder.objectField(Document, 'chunks', (t) => t.field({
  type: DocumentChunkPage,
  description: `Its passages in reading order (by version, then position); at most ${MAX_PAGE_SIZE} per page`,
  args: { first: t.arg.int({ required: false, validate: first }), after: t.arg.string({ required: false, validate: cursor }) },
  resolve: async (d, args, context) => {
    try {
      return await documentChunks(context.services.readDb, d.owner_id, d.document_id, { first: args.first ?? 20, after: args.after ?? null });
    } catch (error) {
      if (error instanceof RangeError) throw clientError('BAD_USER_INPUT', error.message);
      throw error;
    }
  },
}));

const SearchHit = builder.objectRef<RetrievalHit>('SearchHit').implement({
  fields: (t) => ({
    chunkId: t.id({ resolve: (h) => h.chunkId }),
    documentId: t.id({ resolve: (h) => h.documentId }),
    documentVersion: t.int({ resolve: (h) => h.version }),
    documentName: t.string({ nullable: true, resolve: (h) => h.documentName }),
    page: t.int({ nullable: true, resolve: (h) => h.page }),
    headingPath: t.stringList({ resolve: (h) => h.headingPath }),
    text: t.string({ resolve: (h) => h.text }),
    score: t.float({ description: 'Reciprocal-rank-fusion score (here or in the vector index, see fusion): higher is better; compare within one result only', resolve: (h) => h.score }),
  }),
});

const SearchResult = builder.objectRef<RetrievalResult>('SearchResult').implement({
  fields: (t) => ({
    mode: t.string({ description: '"hybrid" (lexical + vector) or "lexical" (no embedding model configured, or none yet for these documents)', resolve: (r) => r.mode }),
    fusion: t.string({
      nullable: true,
      description: 'How a hybrid result was fused: "index" (the vector index ranked the text and fused it with vector similarity itself, '
        + 'as Weaviate\'s hybrid query does) or "rrf" (the lexical index and vector search fused by reciprocal rank here); null when lexical',
      resolve: (r) => r.fusion,
    }),
    vectorSpace: t.string({
      nullable: true,
      description: 'Whose vector space was searched: "current" (the configured embedding model\'s) or "previous" (the model before a change, '
        + 'while the configured one\'s space is being filled); null when lexical',
      resolve: (r) => r.vectorSpace,
    }),
    embeddingModel: t.string({ nullable: true, description: 'The embedding model id of the space searched; null when lexical', resolve: (r) => r.embeddingModel }),
    hits: t.field({ type: [SearchHit], resolve: (r) => r.hits }),
  }),
});

interface DocumentUpdate {
  kind: 'STATUS' | 'PROGRESS' | 'DELETED';
  documentId: string;
  document: DocumentRow | null;
  progress: Record<string, unknown> | null;
}

const DocumentUpdateRef = builder.objectRef<DocumentUpdate>('DocumentUpdate').implement({
  description: 'STATUS: the document as it is now (after a stage of its ingestion); PROGRESS: pages or chunks done within a stage; DELETED: it is gone (the subscription ends)',
  fields: (t) => ({
    kind: t.string({ resolve: (u) => u.kind }),
    documentId: t.id({ resolve: (u) => u.documentId }),
    document: t.field({ type: Document, nullable: true, resolve: (u) => u.document }),
    stage: t.string({ nullable: true, resolve: (u) => (u.progress?.stage as string | undefined) ?? null }),
    version: t.int({ nullable: true, resolve: (u) => (u.progress?.version as number | undefined) ?? u.document?.current_version ?? null }),
    pagesDone: t.int({ nullable: true, resolve: (u) => (u.progress?.pagesDone as number | undefined) ?? null }),
    pagesTotal: t.int({ nullable: true, resolve: (u) => (u.progress?.pagesTotal as number | undefined) ?? null }),
    chunksDone: t.int({ nullable: true, resolve: (u) => (u.progress?.chunksDone as number | undefined) ?? null }),
    chunksTotal: t.int({ nullable: true, resolve: (u) => (u.progress?.chunksTotal as number | undefined) ?? null }),
  }),
});

// --- helpers --------------------------------------------------------------------------------------

async function ownDocument(context: GraphQLContext, documentId: string): Promise<DocumentRow> {
  const row = await getDocument(context.services.readDb, requireViewer(context).userId, documentId);
  if (!row) throw clientError('NOT_FOUND', 'Document not found');
  return row;
}

async function ownKnowledgeBase(context: GraphQLContext, knowledgeBaseId: string): Promise<KnowledgeBaseRow> {
  const row = await getKnowledgeBase(context.services.readDb, requireViewer(context).userId, knowledgeBaseId);
  if (!row) throw clientError('NOT_FOUND', 'Knowledge base not found');
  return row;
}

/** The read model after a write; null only when it does not show the write yet (the response is flagged pending). */
async function documentAfterWrite(context: GraphQLContext, documentId: string): Promise<DocumentRow | null> {
  return getDocument(context.services.readDb, requireViewer(context).userId, documentId);
}

async function knowledgeBaseAfterWrite(context: GraphQLContext, knowledgeBaseId: string): Promise<KnowledgeBaseRow | null> {
  return getKnowledgeBase(context.services.readDb, requireViewer(context).userId, knowledgeBaseId);
}

async function storeFile(context: GraphQLContext, file: File): Promise<{ sha256: string; size: number }> {
  const { blobs } = context.services.documentInfra;
  const maxBytes = context.services.config.documents.maxUploadBytes;
  return blobs.put(requireViewer(context).userId, file.stream() as unknown as AsyncIterable<Uint8Array>, { maxBytes });
}

const fileName = z.string().trim().min(1, 'must not be empty').max(MAX_DOCUMENT_NAME_LENGTH, `must be at most ${MAX_DOCUMENT_NAME_LENGTH} characters`);

function uploadedMediaType(file: File): string {
  return file.type ? file.type.split(';', 1)[0]!.trim().toLowerCase() : 'application/octet-stream';
}

// --- queries --------------------------------------------------------------------------------------

builder.queryFields((t) => ({
  documents: t.field({
    type: DocumentPage,
    description: 'Your documents, newest first',
    authScopes: { authenticated: true },
    args: { first: t.arg.int({ required: false, validate: first }), after: t.arg.string({ required: false, validate: cursor }) },
    resolve: async (_root, args, context) => ({
      page: await listDocuments(context.services.readDb, requireViewer(context).userId, { first: args.first ?? 20, after: args.after ?? null }),
    }),
  }),
  document: t.field({
    type: Document,
    authScopes: { authenticated: true },
    args: {
      id: t.arg.id({ validate: id }),
      asOf: t.arg({ type: 'DateTime', required: false, description: 'The document as it was at this moment, folded from the log (see docs/audit.md)' }),
    },
    resolve: (_root, args, context) => (args.asOf ? ownDocumentAsOf(context, String(args.id), args.asOf) : ownDocument(context, String(args.id))),
  }),
  documentChunk: t.field({
    type: DocumentChunk,
    description: 'One passage of your documents by id (a citation\'s chunkId); NOT_FOUND when it is not yours or no longer indexed',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const [chunk] = await chunksByIds(context.services.readDb, requireViewer(context).userId, [String(args.id)]);
      if (!chunk) throw clientError('NOT_FOUND', 'No such passage');
      return chunk;
    },
  }),
  knowledgeBases: t.field({
    type: KnowledgeBasePage,
    authScopes: { authenticated: true },
    args: { first: t.arg.int({ required: false, validate: first }), after: t.arg.string({ required: false, validate: cursor }) },
    resolve: async (_root, args, context) => ({
      page: await listKnowledgeBases(context.services.readDb, requireViewer(context).userId, { first: args.first ?? 20, after: args.after ?? null }),
    }),
  }),
  knowledgeBase: t.field({
    type: KnowledgeBase,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: (_root, args, context) => ownKnowledgeBase(context, String(args.id)),
  }),
  search: t.field({
    type: SearchResult,
    description: 'Hybrid retrieval over your documents (all of them, or those of the given knowledge bases and documents)',
    authScopes: { authenticated: true },
    args: {
      query: t.arg.string({ validate: z.string().max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`) }),
      knowledgeBaseIds: t.arg.idList({ required: false, validate: ids }),
      documentIds: t.arg.idList({ required: false, validate: ids }),
      limit: t.arg.int({ required: false, validate: z.number().int().min(1, 'must be at least 1').max(MAX_RETRIEVAL_LIMIT, `must be at most ${MAX_RETRIEVAL_LIMIT}`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const { documentInfra, readDb, vectorIndexer } = context.services;
      return retrieve(
        {
          db: readDb, vectorIndex: documentInfra.vectorIndex, embedder: documentInfra.embedder,
          previousEmbedder: documentInfra.previousEmbedder, space: await vectorIndexer.retrievalSpace(),
        },
        {
          ownerId: viewer.userId, text: args.query, limit: args.limit ?? 10,
          knowledgeBaseIds: args.knowledgeBaseIds?.map(String), documentIds: args.documentIds?.map(String),
        },
      );
    },
  }),
}));

// --- mutations ------------------------------------------------------------------------------------

const UploadResult = builder.objectRef<{ documentId: string; version: number; document: DocumentRow | null }>('DocumentUploadResult').implement({
  fields: (t) => ({
    documentId: t.id({ resolve: (r) => r.documentId }),
    version: t.int({ resolve: (r) => r.version }),
    document: t.field({ type: Document, nullable: true, description: 'Null only while the response is flagged pending', resolve: (r) => r.document }),
  }),
});

builder.mutationFields((t) => ({
  uploadDocument: t.field({
    type: UploadResult,
    description: 'Uploads a file (a multipart request; the file is held in memory up to MAX_UPLOAD_BYTES — stream larger ones to POST /uploads). '
      + 'Ingestion starts at once: follow it with documentEvents.',
    authScopes: { authenticated: true },
    args: { file: t.arg({ type: 'File' }), name: t.arg.string({ required: false, validate: fileName }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const file = args.file as File;
      const blob = await storeFile(context, file);
      const upload = await recordUpload(context.services, viewer.userId, blob, { name: args.name ?? file.name ?? 'upload', declaredMediaType: uploadedMediaType(file) }, context.requestId);
      await settle(context, { position: upload.position, events: [{ type: 'DocumentUploaded' }] });
      return { documentId: upload.documentId, version: upload.version, document: await documentAfterWrite(context, upload.documentId) };
    },
  }),
  uploadDocumentVersion: t.field({
    type: UploadResult,
    description: 'A new version of one of your documents; the previous version keeps answering until the new one is indexed',
    authScopes: { authenticated: true },
    args: { documentId: t.arg.id({ validate: id }), file: t.arg({ type: 'File' }), name: t.arg.string({ required: false, validate: fileName }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const documentId = String(args.documentId);
      const file = args.file as File;
      const blob = await storeFile(context, file);
      const result = await context.services.documents.uploadDocumentVersion(
        { documentId, actorId: viewer.userId, name: args.name ?? null, mediaType: uploadedMediaType(file), sha256: blob.sha256, size: blob.size },
        context.services.commandContext(viewer.userId, context.requestId),
      );
      await settle(context, result);
      return { documentId, version: result.version, document: await documentAfterWrite(context, documentId) };
    },
  }),
  renameDocument: t.field({
    type: Document,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }), name: t.arg.string({ validate: fileName }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const documentId = String(args.id);
      const result = await context.services.documents.renameDocument({ documentId, actorId: viewer.userId, name: args.name }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return documentAfterWrite(context, documentId);
    },
  }),
  deleteDocument: t.field({
    type: 'ID',
    description: 'Deletes one of your documents: its chunks and vectors leave every index',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const documentId = String(args.id);
      const result = await context.services.documents.deleteDocument({ documentId, actorId: viewer.userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return documentId;
    },
  }),
  createKnowledgeBase: t.field({
    type: KnowledgeBase,
    nullable: true,
    authScopes: { authenticated: true },
    args: {
      name: t.arg.string({ validate: z.string().trim().min(1, 'must not be empty').max(MAX_KNOWLEDGE_BASE_NAME_LENGTH, `must be at most ${MAX_KNOWLEDGE_BASE_NAME_LENGTH} characters`) }),
      description: t.arg.string({ required: false, validate: z.string().max(MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH, `must be at most ${MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const result = await context.services.knowledgeBases.createKnowledgeBase(
        { ownerId: viewer.userId, name: args.name, description: args.description ?? null },
        context.services.commandContext(viewer.userId, context.requestId),
      );
      await settle(context, result);
      return knowledgeBaseAfterWrite(context, result.knowledgeBaseId);
    },
  }),
  renameKnowledgeBase: t.field({
    type: KnowledgeBase,
    nullable: true,
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }), name: t.arg.string({ validate: z.string().max(MAX_KNOWLEDGE_BASE_NAME_LENGTH, `must be at most ${MAX_KNOWLEDGE_BASE_NAME_LENGTH} characters`) }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const knowledgeBaseId = String(args.id);
      const result = await context.services.knowledgeBases.renameKnowledgeBase({ knowledgeBaseId, actorId: viewer.userId, name: args.name }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return knowledgeBaseAfterWrite(context, knowledgeBaseId);
    },
  }),
  deleteKnowledgeBase: t.field({
    type: 'ID',
    description: 'Deletes a knowledge base; its documents stay',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const knowledgeBaseId = String(args.id);
      const result = await context.services.knowledgeBases.deleteKnowledgeBase({ knowledgeBaseId, actorId: viewer.userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return knowledgeBaseId;
    },
  }),
  addDocumentToKnowledgeBase: t.field({
    type: KnowledgeBase,
    nullable: true,
    authScopes: { authenticated: true },
    args: { knowledgeBaseId: t.arg.id({ validate: id }), documentId: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const knowledgeBaseId = String(args.knowledgeBaseId);
      const result = await context.services.knowledgeBases.addDocumentToKnowledgeBase(
        { knowledgeBaseId, documentId: String(args.documentId), actorId: viewer.userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return knowledgeBaseAfterWrite(context, knowledgeBaseId);
    },
  }),
  removeDocumentFromKnowledgeBase: t.field({
    type: KnowledgeBase,
    nullable: true,
    authScopes: { authenticated: true },
    args: { knowledgeBaseId: t.arg.id({ validate: id }), documentId: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const knowledgeBaseId = String(args.knowledgeBaseId);
      const result = await context.services.knowledgeBases.removeDocumentFromKnowledgeBase(
        { knowledgeBaseId, documentId: String(args.documentId), actorId: viewer.userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return knowledgeBaseAfterWrite(context, knowledgeBaseId);
    },
  }),
}));

// --- subscription ---------------------------------------------------------------------------------

builder.subscriptionFields((t) => ({
  documentEvents: t.field({
    type: DocumentUpdateRef,
    description: 'Live ingestion of one of your documents: first its status now, then a STATUS at every stage (extracting, '
      + 'extracted, chunked, indexed, failed), PROGRESS within stages (pages, chunks), and DELETED. Ends with UNAUTHENTICATED when your session ends.',
    authScopes: { authenticated: true },
    args: { documentId: t.arg.id({ validate: id }) },
    subscribe: async function* (_root, args, context) {
      const viewer = requireViewer(context);
      const documentId = String(args.documentId);
      const { store, liveLog, pubsub, projections, readDb, sessions, vectorIndexer } = context.services;
      const stream = documentStream(documentId);
      // Subscribed before the first snapshot is read, so no stage between the two is missed.
      const head = await store.headPosition();
      await ownDocument(context, documentId);
      const watch = sessions.watch(viewer);
      const log = liveLog.subscribeToAll({ after: head, filter: { streamPrefix: stream } });
      const stopLog = () => void log.close();
      watch.signal.addEventListener('abort', stopLog, { once: true });
      try {
        const snapshot = async (): Promise<DocumentUpdate> => {
          const document = await getDocument(readDb, viewer.userId, documentId);
          return { kind: document ? 'STATUS' : 'DELETED', documentId, document, progress: null };
        };
        const first = await snapshot();
        let lastStatus = JSON.stringify(first.document);
        yield first;
        if (first.kind === 'DELETED') return;
        const live = pubsub.subscribe('documentProgress', documentId, { signal: watch.signal });
        for await (const item of mergeStreams<RecordedEvent | Record<string, unknown>>([log, live], watch.signal)) {
          if ('stream' in item && 'position' in item && typeof item.position === 'bigint') {
            const event = item as unknown as RecordedEvent;
            if (event.stream !== stream) continue;
            await projections.waitFor(event.position, { eventTypes: [event.type], timeoutMs: SNAPSHOT_WAIT_MS });
            // "indexed" means searchable: the vectors too, which a reactor of their own keeps.
            if (VECTOR_EVENTS.has(event.type)) await vectorIndexer.waitFor(event.position, SNAPSHOT_WAIT_MS);
            const update = await snapshot();
            // Several events can land in one snapshot (a stage recorded while the last was read): say it once.
            const seen = JSON.stringify(update.document);
            if (update.kind === 'STATUS' && seen === lastStatus) continue;
            lastStatus = seen;
            yield update;
            if (update.kind === 'DELETED') return;
          } else {
            yield { kind: 'PROGRESS' as const, documentId, document: null, progress: item as Record<string, unknown> };
          }
        }
        if (watch.signal.aborted) {
          throw clientError('UNAUTHENTICATED', watch.signal.reason === 'expired' ? 'Your session expired; log in again' : 'Your session ended; log in again');
        }
      } finally {
        watch.signal.removeEventListener('abort', stopLog);
        await log.close();
        watch.release();
      }
    },
    resolve: (update) => update,
  }),
}));
