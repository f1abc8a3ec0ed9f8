import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createDocumentCommands } from '../../../src/commands/documents.ts';
import { createKnowledgeBaseCommands } from '../../../src/commands/knowledge-bases.ts';
import { LocalBlobStore } from '../../../src/infra/blob-store/local-blob-store.ts';
import type { Embedder } from '../../../src/infra/embedders/port.ts';
import type { RecordedEvent } from '../../../src/infra/event-store/port.ts';
import type { Logger } from '../../../src/infra/logger.ts';
import { migrate } from '../../../src/infra/read-db/migrations.ts';
import type { ReadDb } from '../../../src/infra/read-db/port.ts';
import type { VectorIndex } from '../../../src/infra/vector-index/port.ts';
import { createDocumentChunksProjection } from '../../../src/projections/document-chunks-projection.ts';
import { documentsProjection } from '../../../src/projections/documents-projection.ts';
import { IngestionReactor, type DocumentProgress } from '../../../src/projections/ingestion/ingestion-reactor.ts';
import { ProjectionRunner } from '../../../src/projections/runner.ts';
import { createVectorIndexer } from '../../../src/projections/vector-indexer.ts';
import { commandContext, domainEventStore } from '../../support/domain-event-store.ts';
import { LIMITS } from '../../infra/extraction/fixtures.ts';

export const MIGRATIONS = new URL('../../../migrations', import.meta.url).pathname;
export const OWNER = 'owner-1';
const FINAL = ['DocumentIndexed', 'DocumentIngestionFailed'];
export const PIPELINE_LIMITS = { extraction: { ...LIMITS, timeoutMs: 60_000 }, chunkTokens: 64, overlapTokens: 8, maxBlobBytes: 10 * 1024 * 1024 };

export interface HarnessOptions {
  readDb: ReadDb;
  vectorIndex: VectorIndex | null;
  embedder: Embedder | null;
  /** The vector indexer's previous model (EMBEDDINGS_PREVIOUS_*). */
  previousEmbedder?: Embedder | null;
  /** Where the vector indexer logs (default: nowhere). */
  indexerLogger?: Logger;
  /** False: the ingestion reactor is not started (call `reactor.start()` or `newReactor()`). */
  startReactor?: boolean;
}

/** The ingestion pipeline as the app would wire it: real log, codec, blob store, read DB, projections and reactors. */
export async function startPipeline({ readDb, vectorIndex, embedder, previousEmbedder = null, indexerLogger, startReactor = true }: HarnessOptions) {
  await migrate(readDb, MIGRATIONS);
  const events = domainEventStore();
  const { store, codec } = events;
  const dir = await mkdtemp(join(tmpdir(), 'evident-ingestion-'));
  const blobs = await LocalBlobStore.open({ dir, keys: codec });
  const logger = pino({ level: 'silent' });
  const documents = createDocumentCommands({ store });
  const knowledgeBases = createKnowledgeBaseCommands({ store });
  const chunksProjection = createDocumentChunksProjection({ blobs });
  const projections = new ProjectionRunner({ store, db: readDb, projections: [documentsProjection, chunksProjection], logger, idlePollMs: 20 });
  const progress: DocumentProgress[] = [];
  const newReactor = () => new IngestionReactor({
    store, readDb, blobs, documents, embedder, concurrency: 2, logger, newContext: () => commandContext(null),
    limits: PIPELINE_LIMITS,
    onProgress: (p) => progress.push(p), leaseRetryMs: 50,
  });
  let reactor = newReactor();
  const indexer = vectorIndex ? createVectorIndexer({ store, readDb, blobs, vectorIndex, logger: indexerLogger ?? logger, embedder, previousEmbedder }) : null;
  await projections.start();
  if (startReactor) reactor.start();
  indexer?.start();

  async function upload(name: string, mediaType: string, bytes: Uint8Array, documentId?: string) {
    const blob = await blobs.put(OWNER, (async function* () { yield bytes; })(), { maxBytes: 10 * 1024 * 1024 });
    if (documentId) {
      return documents.uploadDocumentVersion({ documentId, actorId: OWNER, mediaType, ...blob }, commandContext(OWNER));
    }
    return documents.uploadDocument({ ownerId: OWNER, name, mediaType, ...blob }, commandContext(OWNER));
  }

  /** The first event (from the start of the log) matching `match`; rejects after a generous bound. */
  async function waitForEvent(match: (event: RecordedEvent) => boolean, eventTypes: string[], timeoutMs = 90_000): Promise<RecordedEvent> {
    const subscription = store.subscribeToAll({ filter: { eventTypes } });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        (async () => {
          for await (const event of subscription) if (match(event)) return event;
          throw new Error('subscription ended');
        })(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs); }),
      ]);
    } finally {
      clearTimeout(timer);
      await subscription.close();
    }
  }

  /** The final ingestion event of a version, once every read model (and the vector index) has applied it. */
  async function settled(documentId: string, version = 1): Promise<RecordedEvent> {
    const event = await waitForEvent((e) => {
      const d = e.data as { documentId: string; version: number };
      return d.documentId === documentId && d.version === version;
    }, FINAL);
    await caughtUp();
    return event;
  }

  async function caughtUp(): Promise<void> {
    const head = await store.headPosition();
    if (!(await projections.waitFor(head, { timeoutMs: 30_000 }))) throw new Error('projections did not catch up');
    if (indexer && !(await indexer.waitFor(head, 30_000))) throw new Error('vector indexer did not catch up');
  }

  return {
    store, codec, blobs, documents, knowledgeBases, projections, indexer, progress, upload, waitForEvent, settled, caughtUp,
    get reactor() {
      return reactor;
    },
    /** Stops the running reactor (as a crash would stop its work) and starts a fresh one on the same log and checkpoint. */
    async restartReactor() {
      await reactor.stop();
      reactor = newReactor();
      reactor.start();
    },
    async stop() {
      await reactor.stop();
      await indexer?.stop();
      await projections.stop();
      await blobs.close();
      await events.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

/** Rows left of a document in the chunk texts and in every lexical table. */
export async function chunkRows(db: ReadDb, documentId: string): Promise<{ chunks: number; lexical: number; postings: number }> {
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [documentId])).rows[0]!.n;
  return {
    chunks: await count('SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1'),
    lexical: await count('SELECT count(*)::int AS n FROM lexical_chunks WHERE document_id = $1'),
    postings: await count(`SELECT count(*)::int AS n FROM lexical_postings p WHERE p.chunk_id IN
      (SELECT chunk_id FROM document_chunks WHERE document_id = $1 UNION SELECT chunk_id FROM lexical_chunks WHERE document_id = $1)`),
  };
}
