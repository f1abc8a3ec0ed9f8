import type { CommandContext } from '../../commands/context.ts';
import type { DocumentCommands } from '../../commands/documents.ts';
import { loadAggregate } from '../../commands/execute-command.ts';
import { DomainError } from '../../domain/decider.ts';
import { documentDecider, documentStream, type ActiveDocument, type DocumentState } from '../../domain/document/document.ts';
import { BlobNotFoundError, BlobUnreadableError } from '../../infra/blob-store/errors.ts';
import type { BlobStore } from '../../infra/blob-store/port.ts';
import { EmbedderError, type Embedder } from '../../infra/embedders/port.ts';
import type { EventStore } from '../../infra/event-store/port.ts';
import type { Logger } from '../../infra/logger.ts';
import { SubjectErasedError } from '../../infra/personal-data/key-store.ts';
import type { ReadDb } from '../../infra/read-db/port.ts';
import { LeaseLoop } from '../processor/lease-loop.ts';
import { InvalidArtifactError, readChunksArtifact, writeVectorsArtifact } from './artifacts.ts';
import type { DocumentProgress } from './ingestion-reactor.ts';

const NAME = 'document-reembedding';
/** Texts per embedder call (as in the ingestion reactor). */
const EMBED_BATCH = 32;
const MAX_RATE_LIMIT_RETRIES = 5;
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
const MAX_UNAVAILABLE_RETRIES = 3;
const UNAVAILABLE_RETRY_MS = 500;

export interface ReembeddingReactorOptions {
  store: EventStore;
  readDb: ReadDb;
  blobs: BlobStore;
  documents: DocumentCommands;
  /** The configured embedder; without one there is nothing to re-embed (do not start the reactor). */
  embedder: Embedder;
  logger: Logger;
  newContext: () => CommandContext;
  /** Documents read from the read model per page (default 50). */
  batchSize?: number;
  /** Documents embedded at once (default 2). */
  concurrency?: number;
  /** Pause between passes once nothing is left to do (default 30 s): new work only appears when a read model catches up. */
  idleMs?: number;
  /** First pause before a document whose embedding failed is tried again; doubles per failure up to retryMaxMs (defaults 60 s, 1 h). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  onProgress?: (progress: DocumentProgress) => void;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
}

type Outcome = 'embedded' | 'skipped' | 'failed' | 'model-down';

/** Where the work on a document ended for a reason that is not the infrastructure's (those throw). */
class Ended extends Error {
  readonly outcome: Outcome;
  readonly reason: string;
  constructor(outcome: Outcome, reason: string) {
    super(reason);
    this.outcome = outcome;
    this.reason = reason;
  }
}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); resolve(); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Re-embeds documents already indexed when the configured embedding model is not the one their
 * indexed version serves (a model change, or documents indexed lexical-only before an embedder was
 * configured): reads the version's chunks artifact (no re-extraction), embeds it, writes the vectors
 * artifact and records DocumentEmbedded. The VectorIndexer then fills the new model's space and
 * activeSpace() switches to it once every document with vectors is there (docs/ingestion.md).
 *
 * Its own reactor rather than a step of IngestionReactor: that one follows upload events in log order
 * under a checkpoint, while this work is found by a query of the documents read model (so it is found
 * again after a restart or a model change, and needs no checkpoint) and must not hold up new uploads.
 * It works in passes over that read model, in pages of `batchSize`, `concurrency` documents at once.
 * Every document is loaded from the log before work and the decider records an identical repeat as
 * nothing, so a crash midway (or a read model that lags) never records a model twice.
 */
export class ReembeddingReactor {
  private readonly options: ReembeddingReactorOptions;
  private readonly loop: LeaseLoop;
  private readonly batchSize: number;
  private readonly concurrency: number;
  /** Per document version: failures so far and when it may be tried again (in memory: after a restart everything is tried once more). */
  private readonly failures = new Map<string, { attempts: number; notBefore: number }>();
  private modelDownAttempts = 0;

  constructor(options: ReembeddingReactorOptions) {
    this.batchSize = options.batchSize ?? 50;
    this.concurrency = options.concurrency ?? 2;
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) throw new RangeError('batchSize must be a positive integer');
    if (!Number.isSafeInteger(this.concurrency) || this.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    this.options = options;
    this.loop = new LeaseLoop({
      db: options.readDb, leaseName: `reactor:${NAME}`, logger: options.logger,
      leaseRetryMs: options.leaseRetryMs ?? 1_000, errorBackoffMs: options.errorBackoffMs ?? 1_000,
      whileLeased: (signal) => this.whileLeased(signal),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  private retryDelay(attempts: number): number {
    const base = this.options.retryBaseMs ?? 60_000;
    return Math.min(this.options.retryMaxMs ?? 3_600_000, base * 2 ** Math.min(attempts - 1, 30));
  }

  private async whileLeased(signal: AbortSignal): Promise<void> {
    const { embedder, logger } = this.options;
    while (!signal.aborted) {
      let pauseMs = this.options.idleMs ?? 30_000;
      let dimensions: number | null = null;
      try {
        dimensions = await embedder.dimensions();
      } catch (error) {
        if (!(error instanceof EmbedderError)) throw error;
      }
      const outcome = dimensions === null ? 'model-down' : await this.pass(dimensions, signal);
      if (signal.aborted) return;
      if (outcome === 'model-down') {
        this.modelDownAttempts++;
        pauseMs = this.retryDelay(this.modelDownAttempts);
        logger.warn({ model: embedder.modelId, retryInMs: pauseMs }, 're-embedding paused: the embedding model is unavailable');
      } else {
        this.modelDownAttempts = 0;
        // Wake for the first document whose back-off ends before the idle pause would.
        const now = Date.now();
        for (const { notBefore } of this.failures.values()) pauseMs = Math.min(pauseMs, Math.max(0, notBefore - now));
      }
      await abortable(pauseMs, signal);
    }
  }

  /** One pass over every document whose indexed version does not serve the configured model. */
  private async pass(dimensions: number, signal: AbortSignal): Promise<'done' | 'model-down'> {
    const { readDb, embedder } = this.options;
    let after = '0';
    for (;;) {
      // The keyset as text (a bigint), under another name than the column so that ORDER BY sorts the number.
      const { rows } = await readDb.query<{ document_id: string; seq: string }>(
        `SELECT document_id, created_seq::text AS seq FROM documents
         WHERE indexed_version IS NOT NULL AND (embedding_model IS DISTINCT FROM $1 OR dimensions IS DISTINCT FROM $2)
           AND created_seq > $3::bigint
         ORDER BY created_seq LIMIT $4`,
        [embedder.modelId, dimensions, after, this.batchSize]);
      if (rows.length === 0 || signal.aborted) return 'done';
      after = rows.at(-1)!.seq;
      const outcomes = await this.runAll(rows.map((row) => row.document_id), dimensions, signal);
      if (outcomes.includes('model-down')) return 'model-down';
      if (rows.length < this.batchSize) return 'done';
    }
  }

  /** Runs the documents, `concurrency` at once; an infrastructure error is thrown once all have ended. */
  private async runAll(documentIds: string[], dimensions: number, signal: AbortSignal): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    let next = 0;
    let failure: unknown;
    let modelDown = false;
    const worker = async () => {
      while (next < documentIds.length && !signal.aborted && failure === undefined && !modelDown) {
        const documentId = documentIds[next++]!;
        try {
          const outcome = await this.reembed(documentId, dimensions, signal);
          outcomes.push(outcome);
          if (outcome === 'model-down') modelDown = true;
        } catch (error) {
          if (signal.aborted) return;
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, documentIds.length) }, worker));
    if (failure !== undefined) throw failure;
    return outcomes;
  }

  private async load(documentId: string): Promise<DocumentState> {
    return (await loadAggregate(this.options.store, documentDecider, documentStream(documentId))).state;
  }

  /** The document if its indexed version does not serve the configured model's vectors; null when there is nothing to do. */
  private needsEmbedding(state: DocumentState, dimensions: number, version?: number): ActiveDocument | null {
    if (state.status !== 'active' || state.indexedVersion === null || state.indexedChunksSha256 === null) return null;
    if (version !== undefined && state.indexedVersion !== version) return null;
    const serving = state.indexedEmbeddings.at(-1);
    if (serving && serving.embeddingModel === this.options.embedder.modelId && serving.dimensions === dimensions) return null;
    return state;
  }

  private async reembed(documentId: string, dimensions: number, signal: AbortSignal): Promise<Outcome> {
    const document = this.needsEmbedding(await this.load(documentId), dimensions);
    if (!document) return 'skipped';
    const version = document.indexedVersion!;
    const key = `${documentId}:${version}`;
    const failed = this.failures.get(key);
    if (failed && failed.notBefore > Date.now()) return 'skipped';
    try {
      await this.embedVersion(document, version, dimensions, signal);
      this.failures.delete(key);
      return 'embedded';
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (!(error instanceof Ended)) throw error;
      if (error.outcome === 'failed') {
        const attempts = (failed?.attempts ?? 0) + 1;
        const retryInMs = this.retryDelay(attempts);
        this.failures.set(key, { attempts, notBefore: Date.now() + retryInMs });
        this.options.logger.warn({ documentId, version, model: this.options.embedder.modelId, reason: error.reason, retryInMs },
          're-embedding a document failed; it keeps serving its previous index');
      }
      if (error.outcome === 'skipped') {
        this.failures.delete(key);
        this.options.logger.debug({ documentId, version, reason: error.reason }, 're-embedding dropped: the document was deleted, superseded or its owner erased');
      }
      return error.outcome;
    }
  }

  private progress(document: ActiveDocument, version: number, chunksDone: number, chunksTotal: number): void {
    try {
      this.options.onProgress?.({ documentId: document.documentId, ownerId: document.ownerId, version, stage: 'embedding', chunksDone, chunksTotal });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'a re-embedding progress listener threw');
    }
  }

  private async embedVersion(document: ActiveDocument, version: number, dimensions: number, signal: AbortSignal): Promise<void> {
    const { blobs, documents, embedder } = this.options;
    const { documentId, ownerId } = document;
    let chunks;
    try {
      ({ chunks } = await readChunksArtifact(blobs, ownerId, document.indexedChunksSha256!, { documentId, version }));
    } catch (error) {
      if (error instanceof BlobUnreadableError && error.reason === 'erased') throw new Ended('skipped', 'erased');
      if (error instanceof BlobUnreadableError) throw new Ended('failed', 'chunks-corrupt');
      if (error instanceof BlobNotFoundError) throw new Ended('failed', 'chunks-missing');
      if (error instanceof InvalidArtifactError) throw new Ended('failed', 'chunks-invalid');
      throw error;
    }
    const vectors: Float32Array[] = [];
    this.progress(document, version, 0, chunks.length);
    for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
      const texts = chunks.slice(i, i + EMBED_BATCH).map((chunk) => chunk.text);
      const batch = await this.embed(texts, signal);
      if (batch.length !== texts.length || batch.some((vector) => vector.length !== dimensions)) throw new Ended('failed', 'bad-response');
      vectors.push(...batch);
      this.progress(document, version, vectors.length, chunks.length);
    }
    let vectorsSha256: string;
    try {
      vectorsSha256 = await writeVectorsArtifact(blobs, ownerId, {
        documentId, version, modelId: embedder.modelId, dimensions, chunkIds: chunks.map((chunk) => chunk.id), vectors,
      });
    } catch (error) {
      if (error instanceof SubjectErasedError) throw new Ended('skipped', 'erased');
      throw error;
    }
    try {
      await documents.recordEmbedded({ documentId, version, embeddingModel: embedder.modelId, dimensions, vectorsSha256 }, this.options.newContext());
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Deleted, a newer version indexed, or another holder recorded this model meanwhile: nothing to do.
      if (!this.needsEmbedding(await this.load(documentId), dimensions, version)) throw new Ended('skipped', 'moot');
      throw new Ended('failed', 'refused');
    }
  }

  /** The embedder with the ingestion reactor's retries; a failure that stays is an Ended. */
  private async embed(texts: string[], signal: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.embedder.embed(texts, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof EmbedderError)) throw new Ended('failed', 'internal');
        if (error.code === 'rate-limited' && attempt < MAX_RATE_LIMIT_RETRIES) {
          await abortable(Math.min(MAX_RATE_LIMIT_WAIT_MS, error.retryAfterMs ?? 1_000 * 2 ** attempt), signal);
        } else if (error.code === 'unavailable' && attempt < MAX_UNAVAILABLE_RETRIES) {
          await abortable(UNAVAILABLE_RETRY_MS * 2 ** attempt, signal);
        } else if (error.code === 'unavailable' || error.code === 'rate-limited') {
          throw new Ended('model-down', error.code);
        } else {
          throw new Ended('failed', error.code);
        }
        if (signal.aborted) throw signal.reason;
      }
    }
  }
}
