import type { CommandContext } from '../../commands/context.ts';
import type { DocumentCommands } from '../../commands/documents.ts';
import { loadAggregate } from '../../commands/execute-command.ts';
import { DomainError } from '../../domain/decider.ts';
import { documentDecider, documentStream, type ActiveDocument, type DocumentState, type IngestionStage } from '../../domain/document/document.ts';
import { BlobNotFoundError, BlobTooLargeError, BlobUnreadableError } from '../../infra/blob-store/errors.ts';
import type { BlobStore } from '../../infra/blob-store/port.ts';
import { EmbedderError, type Embedder } from '../../infra/embedders/port.ts';
import type { EventStore, RecordedEvent } from '../../infra/event-store/port.ts';
import { extractDocument } from '../../infra/extraction/extract-in-worker.ts';
import { ExtractionFailedError, type ExtractionLimits } from '../../infra/extraction/types.ts';
import type { Logger } from '../../infra/logger.ts';
import { SubjectErasedError } from '../../infra/personal-data/key-store.ts';
import type { ReadDb } from '../../infra/read-db/port.ts';
import { ReactorCheckpoints } from '../processor/checkpoints.ts';
import { LeaseLoop } from '../processor/lease-loop.ts';
import { chunkRecords, writeChunksArtifact, writeVectorsArtifact } from './artifacts.ts';
import { Semaphore } from '../processor/semaphore.ts';

/** The chunker (LangChain's splitters and the cl100k tokenizer, a few MB) loads with the first document, not at every start. */
const loadChunker = () => import('../../infra/extraction/chunker.ts');

const NAME = 'document-ingestion';
const UPLOAD_EVENTS = ['DocumentUploaded', 'DocumentVersionUploaded'];
/** Texts per embedder call. */
const EMBED_BATCH = 32;
/** Rate-limited embedder calls are retried this many times before the document fails. */
const MAX_RATE_LIMIT_RETRIES = 5;
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
/** An unreachable model is tried this many more times (after 0.5 s, 1 s, 2 s) before the document fails. */
const MAX_UNAVAILABLE_RETRIES = 3;
const UNAVAILABLE_RETRY_MS = 500;

export interface DocumentProgress {
  documentId: string;
  ownerId: string;
  version: number;
  stage: 'extracting' | 'chunking' | 'embedding' | 'indexing';
  pagesDone?: number;
  pagesTotal?: number;
  chunksDone?: number;
  chunksTotal?: number;
}

export interface IngestionLimits {
  extraction: ExtractionLimits;
  chunkTokens: number;
  overlapTokens: number;
  /** Files larger than this fail with reason `too-large` before they are read. */
  maxBlobBytes: number;
}

export interface IngestionReactorOptions {
  store: EventStore;
  readDb: ReadDb;
  blobs: BlobStore;
  documents: DocumentCommands;
  /** Null: lexical only (DocumentIndexed with a null model). */
  embedder: Embedder | null;
  limits: IngestionLimits;
  /** Documents ingested at once (each extraction is one worker thread). */
  concurrency: number;
  logger: Logger;
  newContext: () => CommandContext;
  onProgress?: (progress: DocumentProgress) => void;
  leaseRetryMs?: number;
  errorBackoffMs?: number;
}

/** The file's fault (or the model's): recorded as DocumentIngestionFailed. The message holds no document content. */
class StageFailure extends Error {
  readonly stage: IngestionStage;
  readonly reason: string;
  constructor(stage: IngestionStage, reason: string, message: string) {
    super(message);
    this.stage = stage;
    this.reason = reason;
  }
}

/** The work is moot: the version was superseded, the document deleted or its owner erased. */
class Dropped extends Error {}

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The stage a failure can be recorded for, given where the version stands. */
function runningStage(status: string): IngestionStage | null {
  if (status === 'uploaded' || status === 'extracting') return 'extraction';
  if (status === 'extracted') return 'chunking';
  if (status === 'chunked') return 'indexing';
  return null;
}

/**
 * The ingestion pipeline (docs/ingestion.md): for each uploaded version, extract (in a worker thread
 * with limits), chunk, write the chunks artifact, embed, write the vectors artifact, and record each
 * step on the document. A reactor on the processor core: one instance at a time (a lease), the
 * checkpoint in reactor_checkpoints advances in log order only past versions whose work is over, so
 * after a crash the unfinished ones are taken up again. Re-running a step is safe: extraction and
 * chunking are deterministic, artifacts are content-addressed, and the decider records an identical
 * repeat as nothing. A record refused because the version is no longer current drops the work.
 */
export class IngestionReactor {
  private readonly options: IngestionReactorOptions;
  private readonly checkpoints: ReactorCheckpoints;
  private readonly loop: LeaseLoop;

  constructor(options: IngestionReactorOptions) {
    if (!Number.isSafeInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
    this.options = options;
    this.checkpoints = new ReactorCheckpoints(options.readDb);
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

  private async whileLeased(signal: AbortSignal): Promise<void> {
    const after = await this.checkpoints.read(NAME);
    if (signal.aborted) return;
    const subscription = this.options.store.subscribeToAll({ after, filter: { eventTypes: UPLOAD_EVENTS } });
    const onAbort = () => void subscription.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const slots = new Semaphore(this.options.concurrency);
    let inOrder: Promise<void> = Promise.resolve();
    const running = new Set<Promise<void>>();
    let failure: unknown;
    try {
      for await (const event of subscription) {
        if (signal.aborted || failure) break;
        await slots.acquire();
        if (signal.aborted) {
          slots.release();
          break;
        }
        const done = this.process(event, signal).finally(() => {
          slots.release();
          running.delete(done);
        });
        running.add(done);
        done.catch(() => {});
        inOrder = inOrder.then(() => done).then(() => this.checkpoints.save(NAME, event.position));
        inOrder.catch((error) => {
          failure ??= error;
          void subscription.close();
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await subscription.close();
      // Every job ends before the next lease loop starts, so no version is worked on twice at once.
      await Promise.allSettled([...running]);
      await inOrder.catch(() => {});
    }
    if (failure && !signal.aborted) throw failure;
  }

  private async load(documentId: string): Promise<DocumentState> {
    return (await loadAggregate(this.options.store, documentDecider, documentStream(documentId))).state;
  }

  /** The document if `version` is its current version and not finished; null when the work is moot. */
  private workable(state: DocumentState, version: number): ActiveDocument | null {
    if (state.status !== 'active' || state.current.version !== version) return null;
    if (state.current.status === 'indexed' || state.current.status === 'failed') return null;
    return state;
  }

  private async process(event: RecordedEvent, signal: AbortSignal): Promise<void> {
    const { documentId, version } = event.data as { documentId: string; version: number };
    const document = this.workable(await this.load(documentId), version);
    if (!document) return;
    const context = { ...this.options.newContext(), causationId: event.id, correlationId: event.metadata.correlationId };
    try {
      await this.ingest(document, context, signal);
    } catch (error) {
      if (error instanceof Dropped) return;
      if (signal.aborted) throw signal.reason;
      if (!(error instanceof StageFailure)) throw error;
      this.options.logger.warn({ documentId, version, stage: error.stage, reason: error.reason }, 'document ingestion failed');
      await this.fail(documentId, version, error, context);
    }
  }

  private async fail(documentId: string, version: number, failure: StageFailure, context: CommandContext): Promise<void> {
    try {
      await this.options.documents.recordIngestionFailed(
        { documentId, version, stage: failure.stage, reason: failure.reason, message: failure.message }, context);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Superseded, deleted, or the stage moved on: try once with the stage that is running now.
      const now = this.workable(await this.load(documentId), version);
      const stage = now ? runningStage(now.current.status) : null;
      if (!now || !stage || stage === failure.stage) return;
      await this.options.documents.recordIngestionFailed(
        { documentId, version, stage, reason: failure.reason, message: failure.message }, context)
        .catch((again: unknown) => { if (!(again instanceof DomainError)) throw again; });
    }
  }

  /**
   * Runs one record; a refusal because the version is superseded, deleted or already final drops the
   * work. A refusal of a still-running version (a re-run that came out different) fails it.
   */
  private async record(documentId: string, version: number, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const now = this.workable(await this.load(documentId), version);
      const stage = now ? runningStage(now.current.status) : null;
      if (!now || !stage) throw new Dropped();
      throw new StageFailure(stage, 'conflict', 'A repeated ingestion step did not match the recorded one');
    }
  }

  private progress(document: ActiveDocument, progress: Omit<DocumentProgress, 'documentId' | 'ownerId' | 'version'>): void {
    try {
      this.options.onProgress?.({ documentId: document.documentId, ownerId: document.ownerId, version: document.current.version, ...progress });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'an ingestion progress listener threw');
    }
  }

  private async ingest(document: ActiveDocument, context: CommandContext, signal: AbortSignal): Promise<void> {
    const { documents, blobs, limits } = this.options;
    const { documentId, ownerId } = document;
    const { version, mediaType, sha256 } = document.current;
    const record = (run: () => Promise<unknown>) => this.record(documentId, version, run);

    await record(() => documents.startExtraction({ documentId, version }, context));
    this.progress(document, { stage: 'extracting' });
    const bytes = await this.readFile(ownerId, sha256);
    signal.throwIfAborted();
    let extracted;
    try {
      extracted = await extractDocument(bytes, mediaType, document.name, limits.extraction, signal, {
        onProgress: ({ pagesDone, pagesTotal }) => this.progress(document, { stage: 'extracting', pagesDone, pagesTotal }),
      });
    } catch (error) {
      if (error instanceof ExtractionFailedError) throw new StageFailure('extraction', error.reason, error.message);
      if (signal.aborted) throw signal.reason;
      throw new StageFailure('extraction', 'internal', 'The extraction failed unexpectedly');
    }
    await record(() => documents.recordExtracted({
      documentId, version, pages: extracted.pages.length, characters: extracted.characters,
      ocrPages: extracted.pages.filter((page) => page.ocr).length,
    }, context));

    this.progress(document, { stage: 'chunking' });
    let chunks;
    try {
      chunks = chunkRecords(documentId, version,
        await (await loadChunker()).chunkDocument(extracted, { chunkTokens: limits.chunkTokens, overlapTokens: limits.overlapTokens }));
    } catch {
      throw new StageFailure('chunking', 'internal', 'The text could not be cut into chunks');
    }
    if (chunks.length === 0) throw new StageFailure('chunking', 'no-text', 'The document has no text to index');
    const chunksSha256 = await this.storeArtifact(() => writeChunksArtifact(blobs, ownerId, { documentId, version, chunks }));
    await record(() => documents.recordChunked({
      documentId, version, chunkCount: chunks.length, chunkTokens: limits.chunkTokens, overlapTokens: limits.overlapTokens, chunksSha256,
    }, context));

    const { embedder } = this.options;
    if (!embedder) {
      this.progress(document, { stage: 'indexing' });
      await record(() => documents.recordIndexed({ documentId, version, embeddingModel: null, dimensions: null, vectorsSha256: null }, context));
      return;
    }
    const vectors: Float32Array[] = [];
    let dimensions: number;
    try {
      dimensions = await embedder.dimensions();
      this.progress(document, { stage: 'embedding', chunksDone: 0, chunksTotal: chunks.length });
      for (let i = 0; i < chunks.length; i += EMBED_BATCH) {
        const batch = await this.embed(embedder, chunks.slice(i, i + EMBED_BATCH).map((chunk) => chunk.text), signal);
        if (batch.length !== Math.min(EMBED_BATCH, chunks.length - i) || batch.some((v) => v.length !== dimensions)) {
          throw new EmbedderError('bad-response', 'The embedder returned vectors of the wrong number or length');
        }
        vectors.push(...batch);
        this.progress(document, { stage: 'embedding', chunksDone: vectors.length, chunksTotal: chunks.length });
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof EmbedderError) throw new StageFailure('embedding', error.code, `The embedding model failed (${error.code})`);
      throw new StageFailure('embedding', 'internal', 'The embedding failed unexpectedly');
    }
    this.progress(document, { stage: 'indexing' });
    const vectorsSha256 = await this.storeArtifact(() => writeVectorsArtifact(blobs, ownerId, {
      documentId, version, modelId: embedder.modelId, dimensions, chunkIds: chunks.map((chunk) => chunk.id), vectors,
    }));
    await record(() => documents.recordIndexed({ documentId, version, embeddingModel: embedder.modelId, dimensions, vectorsSha256 }, context));
  }

  private async readFile(ownerId: string, sha256: string): Promise<Buffer> {
    try {
      return await this.options.blobs.readAll(ownerId, sha256, this.options.limits.maxBlobBytes);
    } catch (error) {
      if (error instanceof BlobUnreadableError && error.reason === 'erased') throw new Dropped();
      if (error instanceof BlobUnreadableError) throw new StageFailure('extraction', 'corrupt', 'The stored file is damaged');
      if (error instanceof BlobTooLargeError) {
        throw new StageFailure('extraction', 'too-large', `The file is larger than ${this.options.limits.maxBlobBytes} bytes`);
      }
      if (error instanceof BlobNotFoundError) throw new StageFailure('extraction', 'missing', 'The file is not in the blob store');
      throw error;
    }
  }

  /** An owner erased meanwhile cannot store artifacts any more: the work is dropped. */
  private async storeArtifact(write: () => Promise<string>): Promise<string> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof SubjectErasedError) throw new Dropped();
      throw error;
    }
  }

  private async embed(embedder: Embedder, texts: string[], signal: AbortSignal): Promise<Float32Array[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await embedder.embed(texts, signal);
      } catch (error) {
        if (!(error instanceof EmbedderError)) throw error;
        if (error.code === 'rate-limited' && attempt < MAX_RATE_LIMIT_RETRIES) {
          await abortable(Math.min(MAX_RATE_LIMIT_WAIT_MS, error.retryAfterMs ?? 1_000 * 2 ** attempt), signal);
        } else if (error.code === 'unavailable' && attempt < MAX_UNAVAILABLE_RETRIES) {
          await abortable(UNAVAILABLE_RETRY_MS * 2 ** attempt, signal); // a passing outage should not fail the document
        } else {
          throw error;
        }
      }
    }
  }
}
