import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleEmbedder } from '../../../src/infra/embedders/openai-compatible-embedder.ts';
import { EmbedderError, type Embedder } from '../../../src/infra/embedders/port.ts';
import type { RecordedEvent } from '../../../src/infra/event-store/port.ts';
import type { ReadDb } from '../../../src/infra/read-db/port.ts';
import { spaceFor, type VectorIndex } from '../../../src/infra/vector-index/port.ts';
import { getDocument } from '../../../src/projections/documents-queries.ts';
import { ReembeddingReactor } from '../../../src/projections/ingestion/reembedding-reactor.ts';
import { retrieve } from '../../../src/projections/retrieval.ts';
import { createVectorIndexer } from '../../../src/projections/vector-indexer.ts';
import { commandContext } from '../../support/domain-event-store.ts';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../../support/fake-embeddings-server.ts';
import { utf8 } from '../../infra/extraction/fixtures.ts';
import { chunkRows, OWNER, startPipeline, type Pipeline } from './pipeline-harness.ts';

const DOCS = {
  bees: '# Bees\n\nA hive of honeybees pollinates the orchard; keep the hive entrance facing south-east.',
  glaciers: '# Glaciers\n\nThe glacier retreated forty metres; moraine gravel covers the valley floor.',
  owls: '# Owls\n\nBarn owls hunt voles over the meadow at dusk.',
};
const SPACE_32 = spaceFor('openai:fake-embed-32', 32);
const SPACE_64 = spaceFor('openai:fake-embed-64', 64);

/** Polls a condition (the reactor works from the read model, not from events we could wait on) with a generous bound. */
async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Passes the first `passing` embed calls through, then hangs until the caller aborts (a crash in the middle of a document). */
function hangingAfter(inner: Embedder, passing: number): Embedder {
  let calls = 0;
  return {
    modelId: inner.modelId,
    dimensions: () => inner.dimensions(),
    embed(texts, signal) {
      if (calls++ < passing) return inner.embed(texts, signal);
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new EmbedderError('cancelled', 'aborted')), { once: true }));
    },
  };
}

/** Re-embedding on one read database; `open` gives a fresh database and its vector index. */
export function reembeddingSuite(name: string, open: () => Promise<{ db: ReadDb; vectorIndex: VectorIndex; close(): Promise<void> }>) {
  describe(`${name}: re-embedding indexed documents when the embedding model changes`, () => {
    let server: FakeEmbeddingsServer;
    let env: Awaited<ReturnType<typeof open>>;
    let db: ReadDb;
    let vectorIndex: VectorIndex;
    let p: Pipeline;
    const ids: Record<keyof typeof DOCS, string> = { bees: '', glaciers: '', owls: '' };
    const logged: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _, done) { logged.push(String(chunk)); done(); } }));
    const embedder = (model: string, dimensions: number) => new OpenAiCompatibleEmbedder({ baseUrl: server.url, model, apiKey: 'k', dimensions });
    const reactor = (model: Embedder, options: { concurrency?: number; batchSize?: number } = {}) => new ReembeddingReactor({
      store: p.store, readDb: db, blobs: p.blobs, documents: p.documents, embedder: model, logger, newContext: () => commandContext(null),
      idleMs: 50, retryBaseMs: 50, retryMaxMs: 200, leaseRetryMs: 50, ...options,
    });
    /** activeSpace() as the app computes it with `model` configured (the rule reads the read model only). */
    const activeSpace = (model: Embedder) =>
      createVectorIndexer({ store: p.store, readDb: db, blobs: p.blobs, vectorIndex, logger, embedder: model }).activeSpace();
    const embeddedEvents = async (): Promise<RecordedEvent[]> => {
      const events: RecordedEvent[] = [];
      for (;;) {
        const page = await p.store.readAll({ after: events.at(-1)?.position ?? 0n, maxCount: 500, filter: { eventTypes: ['DocumentEmbedded'] } });
        if (page.length === 0) return events;
        events.push(...page);
      }
    };
    const embeddedFor = async (model: string) => (await embeddedEvents()).filter((e) => (e.data as { embeddingModel: string }).embeddingModel === model);
    const chunksOf = async (documentId: string) => (await chunkRows(db, documentId)).chunks;

    beforeAll(async () => {
      server = await startFakeEmbeddingsServer();
      env = await open();
      ({ db, vectorIndex } = env);
      // No embedder: every document is indexed lexical-only (the vector indexer runs all the same).
      p = await startPipeline({ readDb: db, vectorIndex, embedder: null });
      for (const name of Object.keys(DOCS) as (keyof typeof DOCS)[]) {
        ids[name] = (await p.upload(`${name}.md`, 'text/markdown', utf8(DOCS[name]))).documentId;
        expect((await p.settled(ids[name])).data).toMatchObject({ embeddingModel: null });
      }
      // A document deleted before any embedder is configured is never re-embedded.
      await p.documents.deleteDocument({ documentId: ids.owls, actorId: OWNER }, commandContext(OWNER));
      await p.caughtUp();
    }, 120_000);
    afterAll(async () => {
      await p?.stop();
      await env?.close();
      await server?.close();
    });

    it('embeds documents indexed lexical-only once an embedder is configured, and retrieval turns hybrid', async () => {
      const model = embedder('fake-embed-32', 32);
      const r = reactor(model);
      r.start();
      try {
        await until(async () => (await embeddedFor(model.modelId)).length >= 2, 'both documents embedded');
      } finally {
        await r.stop();
      }
      await p.caughtUp();
      const embedded = await embeddedFor(model.modelId);
      expect(embedded.map((e) => (e.data as { documentId: string }).documentId).sort()).toEqual([ids.bees, ids.glaciers].sort());
      expect(embedded.every((e) => (e.data as { version: number; dimensions: number }).version === 1 && (e.data as { dimensions: number }).dimensions === 32)).toBe(true);

      expect(await vectorIndex.count(SPACE_32)).toBe(await chunksOf(ids.bees) + await chunksOf(ids.glaciers));
      expect(await vectorIndex.count(SPACE_32, { documentId: ids.owls })).toBe(0);
      expect(await getDocument(db, OWNER, ids.bees)).toMatchObject({ status: 'indexed', indexed_version: 1, embedding_model: model.modelId, dimensions: 32 });
      expect(await activeSpace(model)).toEqual(SPACE_32);

      const result = await retrieve({ db, vectorIndex, embedder: model, space: await activeSpace(model) }, { ownerId: OWNER, text: 'honeybees orchard', limit: 3 });
      expect(result.mode).toBe('hybrid');
      expect(result.hits[0]).toMatchObject({ documentId: ids.bees, version: 1 });
    }, 120_000);

    it('fills a new space on a model change, survives a crash midway, and switches only once the new space is complete', async () => {
      const model = embedder('fake-embed-64', 64);
      expect(await activeSpace(model)).toEqual(SPACE_32); // the old index serves until the new one is complete

      // One document at a time; the second hangs in the embedder until the "crash" (stop) aborts it.
      const progress: string[] = [];
      const first = new ReembeddingReactor({
        store: p.store, readDb: db, blobs: p.blobs, documents: p.documents, embedder: hangingAfter(model, 1), logger,
        newContext: () => commandContext(null), idleMs: 50, leaseRetryMs: 50, concurrency: 1, batchSize: 1,
        onProgress: (e) => progress.push(`${e.documentId}:${e.stage}:${e.chunksDone}/${e.chunksTotal}`),
      });
      first.start();
      try {
        await until(async () => (await embeddedFor(model.modelId)).length >= 1, 'the first document embedded with the new model');
        await until(async () => progress.length >= 3, 'the second document started'); // 0/n, n/n of the first; 0/m of the second
      } finally {
        await first.stop();
      }
      await p.caughtUp();
      const [done] = await embeddedFor(model.modelId);
      const doneId = (done!.data as { documentId: string }).documentId;
      const otherId = doneId === ids.bees ? ids.glaciers : ids.bees;
      expect(await embeddedFor(model.modelId)).toHaveLength(1);
      expect(progress[0]).toBe(`${doneId}:embedding:0/${await chunksOf(doneId)}`);
      expect(await vectorIndex.count(SPACE_64)).toBe(await chunksOf(doneId));
      // Half way: the 32-dimension space still serves (lexically: a query cannot be embedded by a model not configured).
      expect(await activeSpace(model)).toEqual(SPACE_32);
      const midway = await retrieve({ db, vectorIndex, embedder: model, space: await activeSpace(model) }, { ownerId: OWNER, text: 'glacier moraine', limit: 3 });
      expect(midway.mode).toBe('lexical');
      expect(midway.hits[0]?.documentId).toBe(ids.glaciers);
      expect(await getDocument(db, OWNER, otherId)).toMatchObject({ embedding_model: 'openai:fake-embed-32' });

      // A new holder after the crash finds the rest from the read model and never embeds a document twice.
      const second = reactor(model, { concurrency: 2, batchSize: 1 });
      second.start();
      try {
        await until(async () => (await embeddedFor(model.modelId)).length >= 2, 'the second document embedded');
        await p.caughtUp();
        await until(async () => (await activeSpace(model))?.id === SPACE_64.id, 'the switch to the new space');
      } finally {
        await second.stop();
      }
      const embedded = await embeddedFor(model.modelId);
      expect(embedded.map((e) => (e.data as { documentId: string }).documentId).sort()).toEqual([ids.bees, ids.glaciers].sort());
      // Never two DocumentEmbedded for one version and model, across both phases.
      const keys = (await embeddedEvents()).map((e) => { const d = e.data as { documentId: string; version: number; embeddingModel: string }; return `${d.documentId}:${d.version}:${d.embeddingModel}`; });
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys).toHaveLength(4);

      expect(await vectorIndex.count(SPACE_64)).toBe(await chunksOf(ids.bees) + await chunksOf(ids.glaciers));
      expect(await vectorIndex.count(SPACE_32)).toBe(await chunksOf(ids.bees) + await chunksOf(ids.glaciers)); // kept, not dropped
      expect(await activeSpace(model)).toEqual(SPACE_64);
      const after = await retrieve({ db, vectorIndex, embedder: model, space: await activeSpace(model) }, { ownerId: OWNER, text: 'glacier moraine', limit: 3 });
      expect(after.mode).toBe('hybrid');
      expect(after.hits[0]).toMatchObject({ documentId: ids.glaciers, version: 1 });
      expect(await getDocument(db, OWNER, otherId)).toMatchObject({ embedding_model: model.modelId, dimensions: 64 });
    }, 180_000);

    it('a read model that lags behind the log makes no second DocumentEmbedded (the log decides)', async () => {
      const model = embedder('fake-embed-64', 64);
      // The read model still says the old model for glaciers, as it would before it applied DocumentEmbedded.
      await db.query('UPDATE documents SET embedding_model = $2, dimensions = 32 WHERE document_id = $1', [ids.glaciers, 'openai:fake-embed-32']);
      // A later document (lexical-only) that does need embedding: once it is embedded, the pass went past glaciers.
      const frogs = (await p.upload('frogs.md', 'text/markdown', utf8('# Frogs\n\nTree frogs call after the rain near the pond.'))).documentId;
      await p.settled(frogs);
      const requests = server.requests.length;
      const r = reactor(model, { concurrency: 1, batchSize: 1 });
      r.start();
      try {
        await until(async () => (await embeddedFor(model.modelId)).some((e) => (e.data as { documentId: string }).documentId === frogs), 'the later document embedded');
      } finally {
        await r.stop();
      }
      const glaciers = (await embeddedFor(model.modelId)).filter((e) => (e.data as { documentId: string }).documentId === ids.glaciers);
      expect(glaciers).toHaveLength(1);
      expect(server.requests.length - requests).toBe(1); // only the frogs' chunks were embedded
      await db.query('UPDATE documents SET embedding_model = $2, dimensions = 64 WHERE document_id = $1', [ids.glaciers, model.modelId]);
      await p.caughtUp();
    }, 60_000);

    it('deleting a document removes its vectors from every space', async () => {
      const chunks = await chunksOf(ids.bees);
      expect(await vectorIndex.count(SPACE_32, { documentId: ids.bees })).toBe(chunks);
      await p.documents.deleteDocument({ documentId: ids.bees, actorId: OWNER }, commandContext(OWNER));
      await p.caughtUp();
      for (const space of [SPACE_32, SPACE_64]) expect(await vectorIndex.count(space, { documentId: ids.bees })).toBe(0);
      expect(await vectorIndex.count(SPACE_64, { documentId: ids.glaciers })).toBe(await chunksOf(ids.glaciers));
    }, 60_000);

    it('a model that fails leaves the document as it was, logs ids only and tries again later', async () => {
      const broken = embedder('fake-embed-wrong-dim', 8);
      const before = (await embeddedEvents()).length;
      const r = reactor(broken);
      logged.length = 0;
      r.start();
      try {
        // Wait for the second failure to be handled (logged), not only received by the server: stopping in
        // between aborts that attempt before it logs.
        await until(async () => server.requests.filter((q) => (q.body as { model?: string }).model === 'fake-embed-wrong-dim').length >= 2
          && logged.filter((line) => line.includes('re-embedding a document failed')).length >= 2, 'a retry after the back-off, logged');
      } finally {
        await r.stop();
      }
      expect((await embeddedEvents()).length).toBe(before);
      expect(await getDocument(db, OWNER, ids.glaciers)).toMatchObject({ status: 'indexed', indexed_version: 1, embedding_model: 'openai:fake-embed-64' });
      const warnings = logged.filter((line) => line.includes('re-embedding a document failed'));
      expect(warnings.every((line) => JSON.parse(line).level === 40)).toBe(true);
      expect(warnings.length).toBeGreaterThanOrEqual(2);
      expect(warnings.map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ documentId: ids.glaciers, version: 1, reason: 'bad-response' }));
      expect(logged.join('\n')).not.toMatch(/glacier|moraine|frog|pond/i);
    }, 60_000);

    it('drops the work quietly when the owner is erased while a document is being embedded, and finds nothing to do afterwards', async () => {
      let release!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const atGate = new Promise<void>((resolve) => { reached = resolve; });
      const inner = embedder('fake-embed-16', 16);
      const gated: Embedder = {
        modelId: inner.modelId,
        dimensions: () => inner.dimensions(),
        async embed(texts, signal) {
          reached();
          await gate;
          return inner.embed(texts, signal);
        },
      };
      const before = (await embeddedEvents()).length;
      logged.length = 0;
      const r = reactor(gated, { concurrency: 1 });
      r.start();
      try {
        await atGate;
        await p.store.append(`user-${OWNER}`, [{
          id: crypto.randomUUID(), type: 'UserDataErased', schemaVersion: 1, data: { userId: OWNER },
          metadata: { actorId: OWNER, correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date().toISOString() },
        }]);
        await p.codec.erase(OWNER);
        await p.caughtUp();
        release();
        await until(async () => logged.some((line) => line.includes('re-embedding dropped') && JSON.parse(line).reason === 'erased'), 'the work dropped');
      } finally {
        release();
        await r.stop();
      }
      expect((await embeddedEvents()).length).toBe(before);
      expect(logged.filter((line) => JSON.parse(line).level >= 40)).toEqual([]);
      for (const space of [SPACE_32, SPACE_64, spaceFor(gated.modelId, 16)]) {
        expect(await vectorIndex.count(space, { ownerId: OWNER }).catch(() => 0)).toBe(0);
      }
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents WHERE owner_id = $1', [OWNER]);
      expect(rows[0]!.n).toBe(0); // so no later pass has anything of theirs to embed
    }, 60_000);
  });
}
