import type { DocumentChunked, DocumentDeleted, DocumentEmbedded, DocumentIndexed } from '../domain/document/document.ts';
import { BlobNotFoundError, BlobUnreadableError } from '../infra/blob-store/errors.ts';
import type { BlobStore } from '../infra/blob-store/port.ts';
import type { Embedder } from '../infra/embedders/port.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { Logger } from '../infra/logger.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { MAX_TEXT_LENGTH, spaceFor, VectorIndexError, type VectorIndex, type VectorSpace } from '../infra/vector-index/port.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';
import { InvalidArtifactError, readChunksArtifact, readVectorsArtifact } from './ingestion/artifacts.ts';
import { ReactorCheckpoints } from './processor/checkpoints.ts';
import { LeaseLoop } from './processor/lease-loop.ts';

const NAME = 'vector-index';
const UPSERT_BATCH = 200;
const RELEVANT = new Set(['DocumentIndexed', 'DocumentEmbedded', 'DocumentDeleted', 'DocumentExpired', ERASURE_EVENT]);

export interface VectorIndexerOptions {
  store: EventStore;
  readDb: ReadDb;
  blobs: BlobStore;
  vectorIndex: VectorIndex;
  logger: Logger;
  /** The configured embedder: activeSpace() prefers its space. */
  embedder?: Embedder | null;
  /** The model before an embedding-model change (EMBEDDINGS_PREVIOUS_*): retrievalSpace() may serve its space meanwhile. */
  previousEmbedder?: Embedder | null;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
}

export interface VectorIndexer {
  start(): void;
  stop(): Promise<void>;
  /** Log position of the last event applied by this instance (0 before any). */
  readonly position: bigint;
  /** Resolves once this indexer has applied the log up to `position` (false after timeoutMs or on stop). */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean>;
  /**
   * The space queries should search: the configured embedder's once every document indexed with
   * vectors is indexed in it, else the space most indexed documents are in (the previous model's,
   * while the new one is being filled). Null when no document has vectors and no embedder is configured.
   */
  activeSpace(): Promise<VectorSpace | null>;
  /**
   * The space retrieval should search with query vectors of a model it has: the configured model's
   * space once complete (activeSpace()); while that one is being filled, the previous model's space
   * when a previous embedder is configured and that space holds the indexed version of every document
   * with vectors; otherwise null (lexical only). Logs a line whenever the answer changes.
   */
  retrievalSpace(): Promise<VectorSpace | null>;
}

/**
 * The vector index as a reactor on the processor core (Weaviate is not transactional with the read
 * DB, so it cannot be a projection in the read-model transaction). Events are applied one at a time
 * in log order and every step is idempotent (upserts by chunk id, deletes), so after a crash the
 * events past the checkpoint are simply applied again.
 */
export function createVectorIndexer(options: VectorIndexerOptions): VectorIndexer {
  const { store, readDb, blobs, vectorIndex, logger } = options;
  const checkpoints = new ReactorCheckpoints(readDb);
  let position = 0n;
  const waiters = new Set<() => void>();
  let stopped = false;
  let lastRetrievalSpace: string | null = null;

  const advance = (to: bigint) => {
    position = to;
    for (const wake of waiters) wake();
  };

  /**
   * For an index that ranks text too (supportsHybrid): the chunk texts of the event's version, from
   * the chunks artifact named by that version's DocumentChunked (read back in the document's stream,
   * so the answer does not depend on how far the chunks read model is). Null when it cannot be read.
   */
  async function chunkTexts(recorded: RecordedEvent, event: DocumentEmbedded['data']): Promise<Map<string, string> | null> {
    const earlier = await store.readStream(recorded.stream, { from: recorded.revision, direction: 'backwards' });
    const chunked = earlier.find((e): e is RecordedEvent & { data: DocumentChunked['data'] } =>
      e.type === 'DocumentChunked' && (e.data as DocumentChunked['data']).version === event.version);
    if (!chunked) return null;
    try {
      const artifact = await readChunksArtifact(blobs, event.ownerId, chunked.data.chunksSha256, { documentId: event.documentId, version: event.version });
      return new Map(artifact.chunks.map((chunk) => [chunk.id, chunk.text.slice(0, MAX_TEXT_LENGTH)]));
    } catch (error) {
      if (!(error instanceof BlobUnreadableError || error instanceof BlobNotFoundError || error instanceof InvalidArtifactError)) throw error;
      logger.warn({ documentId: event.documentId, version: event.version, reason: error.name }, 'chunks artifact unreadable; vectors indexed without their text');
      return null;
    }
  }

  /** Upserts a version's vectors artifact into its model's space (an unreadable artifact is skipped). */
  async function upsertVectors(recorded: RecordedEvent, event: DocumentEmbedded['data']): Promise<void> {
    let artifact;
    try {
      artifact = await readVectorsArtifact(blobs, event.ownerId, event.vectorsSha256, { documentId: event.documentId, version: event.version });
    } catch (error) {
      if (!(error instanceof BlobUnreadableError || error instanceof BlobNotFoundError || error instanceof InvalidArtifactError)) throw error;
      logger.warn({ documentId: event.documentId, version: event.version, reason: error.name }, 'vectors artifact unreadable; skipped');
      artifact = null;
    }
    if (artifact && artifact.modelId === event.embeddingModel && artifact.dimensions === event.dimensions) {
      const space = spaceFor(event.embeddingModel, event.dimensions);
      await vectorIndex.ensureSpace(space);
      const texts = vectorIndex.supportsHybrid ? await chunkTexts(recorded, event) : null;
      for (let i = 0; i < artifact.chunkIds.length; i += UPSERT_BATCH) {
        await vectorIndex.upsert(space, artifact.chunkIds.slice(i, i + UPSERT_BATCH).map((chunkId, j) => {
          const text = texts?.get(chunkId);
          return {
            chunkId, documentId: event.documentId, version: event.version, ownerId: event.ownerId, vector: artifact.vectors[i + j]!,
            ...(text === undefined ? {} : { text }),
          };
        }));
      }
    }
  }

  async function onIndexed(recorded: RecordedEvent, event: DocumentIndexed['data']): Promise<void> {
    const { embeddingModel, dimensions, vectorsSha256 } = event;
    if (embeddingModel !== null && dimensions !== null && vectorsSha256 !== null) await upsertVectors(recorded, { ...event, embeddingModel, dimensions, vectorsSha256 });
    // The port has no listing of versions; older versions are at most the document's version count (≤ 1000).
    for (let version = 1; version < event.version; version++) {
      await vectorIndex.deleteDocumentVersion(event.ownerId, event.documentId, version);
    }
  }

  async function apply(event: RecordedEvent): Promise<void> {
    if (event.type === 'DocumentIndexed') await onIndexed(event, (event as unknown as DocumentIndexed).data);
    // Another model's vectors for the indexed version: older versions were removed when it was indexed.
    else if (event.type === 'DocumentEmbedded') await upsertVectors(event, (event as unknown as DocumentEmbedded).data);
    else if (event.type === 'DocumentDeleted' || event.type === 'DocumentExpired') {
      const d = (event as unknown as DocumentDeleted).data;
      await vectorIndex.deleteDocument(d.ownerId, d.documentId);
    } else if (event.type === ERASURE_EVENT) {
      await vectorIndex.deleteOwner((event.data as { userId: string }).userId);
    }
  }

  async function whileLeased(signal: AbortSignal): Promise<void> {
    const after = await checkpoints.read(NAME);
    if (after > position) advance(after);
    if (signal.aborted) return;
    // Unfiltered, so `position` follows the whole log and waitFor(head) is reached; only relevant events move the stored checkpoint.
    const subscription = store.subscribeToAll({ after });
    const onAbort = () => void subscription.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const event of subscription) {
        if (signal.aborted) break;
        if (RELEVANT.has(event.type)) {
          try {
            await apply(event);
          } catch (error) {
            // Vectors the index refuses (a zero vector, a chunk id of another owner) will be refused again: skip them.
            if (!(error instanceof VectorIndexError && (error.code === 'invalid-input' || error.code === 'owner-conflict'))) throw error;
            logger.error({ err: error, eventId: event.id }, 'vectors refused by the index; skipped');
          }
          await checkpoints.save(NAME, event.position);
        }
        advance(event.position);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await subscription.close();
    }
  }

  const loop = new LeaseLoop({
    db: readDb, leaseName: `reactor:${NAME}`, logger,
    leaseRetryMs: options.leaseRetryMs ?? 1_000, errorBackoffMs: options.errorBackoffMs ?? 1_000,
    whileLeased,
  });

  return {
    start: () => loop.start(),
    async stop() {
      stopped = true;
      for (const wake of waiters) wake();
      await loop.stop();
    },
    get position() {
      return position;
    },
    async waitFor(target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (position >= target) return true;
        if ((await checkpoints.read(NAME).catch(() => 0n)) >= target) return true;
        const left = deadline - Date.now();
        if (stopped || left <= 0) return false;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(left, 100));
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    activeSpace,
    async retrievalSpace() {
      const embedder = options.embedder ?? null;
      if (!embedder) return null;
      const active = await activeSpace();
      let chosen: { space: VectorSpace | null; uses: 'current' | 'previous' | 'lexical' };
      if (active === null || active.modelId === embedder.modelId) chosen = { space: active, uses: active ? 'current' : 'lexical' };
      else {
        const previous = options.previousEmbedder ? await completeSpaceOf(options.previousEmbedder.modelId) : null;
        chosen = previous ? { space: previous, uses: 'previous' } : { space: null, uses: 'lexical' };
      }
      const key = `${chosen.uses}:${chosen.space?.id ?? ''}`;
      if (key !== lastRetrievalSpace) {
        lastRetrievalSpace = key;
        const facts = { model: chosen.space?.modelId ?? null, dimensions: chosen.space?.dimensions ?? null, configuredModel: embedder.modelId };
        if (chosen.uses === 'current') logger.info(facts, 'retrieval searches the configured embedding model\'s vector space');
        else if (chosen.uses === 'previous') {
          logger.info(facts, 'retrieval searches the previous embedding model\'s vector space (complete) while the configured model\'s space is being filled');
        } else if (active !== null) {
          logger.info({ ...facts, previousModel: options.previousEmbedder?.modelId ?? null },
            'retrieval is lexical only while the configured embedding model\'s vector space is being filled (no complete previous space to search; see EMBEDDINGS_PREVIOUS_MODEL)');
        }
      }
      return chosen.space;
    },
  };

  /** The space of `modelId` when it holds the indexed version of every document with vectors (null otherwise, or when none has any). */
  async function completeSpaceOf(modelId: string): Promise<VectorSpace | null> {
    const { rows } = await readDb.query<{ dimensions: number; covered: number; total: number }>(
      `SELECT s.dimensions, count(*)::int AS covered,
              (SELECT count(*)::int FROM documents WHERE indexed_version IS NOT NULL AND embedding_model IS NOT NULL) AS total
       FROM document_vector_spaces s JOIN documents d ON d.document_id = s.document_id AND d.indexed_version = s.version
       WHERE s.embedding_model = $1 AND d.embedding_model IS NOT NULL
       GROUP BY s.dimensions ORDER BY covered DESC, s.dimensions LIMIT 1`, [modelId]);
    const row = rows[0];
    return row && row.total > 0 && row.covered === row.total ? spaceFor(modelId, row.dimensions) : null;
  }

  async function activeSpace(): Promise<VectorSpace | null> {
    const { rows } = await readDb.query<{ embedding_model: string; dimensions: number; n: number }>(
      `SELECT embedding_model, dimensions, count(*)::int AS n FROM documents
       WHERE indexed_version IS NOT NULL AND embedding_model IS NOT NULL AND dimensions IS NOT NULL
       GROUP BY embedding_model, dimensions ORDER BY n DESC, embedding_model`);
    const embedder = options.embedder ?? null;
    if (embedder) {
      const others = rows.filter((row) => row.embedding_model !== embedder.modelId);
      if (others.length === 0) {
        const known = rows.find((row) => row.embedding_model === embedder.modelId)?.dimensions;
        // Nothing indexed yet: ask the model; if it cannot answer there is no space to search.
        const dimensions = known ?? await embedder.dimensions().catch(() => null);
        return dimensions === null ? null : spaceFor(embedder.modelId, dimensions);
      }
    }
    const top = (embedder ? rows.filter((row) => row.embedding_model !== embedder.modelId) : rows)[0];
    return top ? spaceFor(top.embedding_model, top.dimensions) : null;
  }
}
