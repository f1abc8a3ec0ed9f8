import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../src/infra/vector-index/pgvector-index.ts';
import { spaceFor } from '../../src/infra/vector-index/port.ts';
import { chunkRecords, writeChunksArtifact, writeVectorsArtifact } from '../../src/projections/ingestion/artifacts.ts';
import { retrieve } from '../../src/projections/retrieval.ts';
import { commandContext } from '../support/domain-event-store.ts';
import { TestEmbedder } from '../support/test-embedder.ts';
import { utf8 } from '../infra/extraction/fixtures.ts';
import { OWNER, startPipeline, type Pipeline } from './ingestion/pipeline-harness.ts';

const oldModel = new TestEmbedder(64);
const newModel = new TestEmbedder(128);

describe('vector indexer across an embedding-model change', () => {
  let db: PgliteReadDb;
  let index: PgvectorIndex;
  let p: Pipeline;
  beforeAll(async () => {
    db = await PgliteReadDb.open();
    index = await PgvectorIndex.open(db);
    // The app is now configured with the new model; the reactor stays off, versions are recorded by hand.
    p = await startPipeline({ readDb: db, vectorIndex: index, embedder: newModel, startReactor: false });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await db?.close();
  });

  /** Records a version as indexed with `model`'s vectors, as the reactor would have. */
  async function indexWith(documentId: string, version: number, text: string, model: TestEmbedder): Promise<void> {
    const context = commandContext(null);
    const chunks = chunkRecords(documentId, version, [{ index: 0, text, page: null, headingPath: [], tokens: 5 }]);
    const chunksSha256 = await writeChunksArtifact(p.blobs, OWNER, { documentId, version, chunks });
    const dimensions = await model.dimensions();
    const vectorsSha256 = await writeVectorsArtifact(p.blobs, OWNER, {
      documentId, version, modelId: model.modelId, dimensions, chunkIds: [chunks[0]!.id], vectors: await model.embed([text]),
    });
    await p.documents.startExtraction({ documentId, version }, context);
    await p.documents.recordExtracted({ documentId, version, pages: 1, characters: text.length, ocrPages: 0 }, context);
    await p.documents.recordChunked({ documentId, version, chunkCount: 1, chunkTokens: 64, overlapTokens: 8, chunksSha256 }, context);
    await p.documents.recordIndexed({ documentId, version, embeddingModel: model.modelId, dimensions, vectorsSha256 }, context);
    await p.caughtUp();
  }

  it('serves the old space until every document is in the new one, and drops old versions from every space', async () => {
    const a = await p.upload('a.md', 'text/markdown', utf8('alpha'));
    const b = await p.upload('b.md', 'text/markdown', utf8('beta'));
    await indexWith(a.documentId, 1, 'the comet tail glows', oldModel);
    await indexWith(b.documentId, 1, 'the harbour seals sleep', oldModel);
    const oldSpace = spaceFor(oldModel.modelId, 64);
    const newSpace = spaceFor(newModel.modelId, 128);
    expect(await p.indexer!.activeSpace()).toEqual(oldSpace);
    // A query vector of the new model means nothing in the old space: lexical only meanwhile.
    const meanwhile = await retrieve({ db, vectorIndex: index, embedder: newModel, space: await p.indexer!.activeSpace() },
      { ownerId: OWNER, text: 'comet', limit: 3 });
    expect(meanwhile.mode).toBe('lexical');
    expect(meanwhile.hits[0]?.documentId).toBe(a.documentId);

    // Re-indexing under the new model, one document at a time.
    const a2 = await p.upload('a.md', 'text/markdown', utf8('alpha 2'), a.documentId);
    await indexWith(a.documentId, a2.version, 'the comet tail glows bright', newModel);
    expect(await index.count(oldSpace, { documentId: a.documentId })).toBe(0);
    expect(await index.count(newSpace, { documentId: a.documentId })).toBe(1);
    expect(await p.indexer!.activeSpace()).toEqual(oldSpace);

    const b2 = await p.upload('b.md', 'text/markdown', utf8('beta 2'), b.documentId);
    await indexWith(b.documentId, b2.version, 'the harbour seals sleep soundly', newModel);
    expect(await p.indexer!.activeSpace()).toEqual(newSpace);
    expect(await index.count(oldSpace)).toBe(0);
    const after = await retrieve({ db, vectorIndex: index, embedder: newModel, space: await p.indexer!.activeSpace() },
      { ownerId: OWNER, text: 'seals harbour', limit: 3 });
    expect(after.mode).toBe('hybrid');
    expect(after.hits[0]).toMatchObject({ documentId: b.documentId, version: b2.version });
  }, 120_000);
});

describe('retrieval space across an embedding-model change with the previous model configured', () => {
  const logged: string[] = [];
  let db: PgliteReadDb;
  let index: PgvectorIndex;
  let p: Pipeline;
  beforeAll(async () => {
    db = await PgliteReadDb.open();
    index = await PgvectorIndex.open(db);
    const indexerLogger = pino({ level: 'info' }, { write: (line: string) => void logged.push((JSON.parse(line) as { msg: string }).msg) });
    p = await startPipeline({ readDb: db, vectorIndex: index, embedder: newModel, previousEmbedder: oldModel, indexerLogger, startReactor: false });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await db?.close();
  });

  async function record(documentId: string, version: number, text: string, model: TestEmbedder, how: 'indexed' | 'embedded'): Promise<void> {
    const context = commandContext(null);
    const chunks = chunkRecords(documentId, version, [{ index: 0, text, page: null, headingPath: [], tokens: 5 }]);
    const dimensions = await model.dimensions();
    const vectorsSha256 = await writeVectorsArtifact(p.blobs, OWNER, {
      documentId, version, modelId: model.modelId, dimensions, chunkIds: [chunks[0]!.id], vectors: await model.embed([text]),
    });
    if (how === 'indexed') {
      const chunksSha256 = await writeChunksArtifact(p.blobs, OWNER, { documentId, version, chunks });
      await p.documents.startExtraction({ documentId, version }, context);
      await p.documents.recordExtracted({ documentId, version, pages: 1, characters: text.length, ocrPages: 0 }, context);
      await p.documents.recordChunked({ documentId, version, chunkCount: 1, chunkTokens: 64, overlapTokens: 8, chunksSha256 }, context);
      await p.documents.recordIndexed({ documentId, version, embeddingModel: model.modelId, dimensions, vectorsSha256 }, context);
    } else {
      await p.documents.recordEmbedded({ documentId, version, embeddingModel: model.modelId, dimensions, vectorsSha256 }, context);
    }
    await p.caughtUp();
  }
  const search = async (text: string) => retrieve(
    { db, vectorIndex: index, embedder: newModel, previousEmbedder: oldModel, space: await p.indexer!.retrievalSpace() }, { ownerId: OWNER, text, limit: 3 });

  it('serves the previous space while it covers every document, lexical when a document is missing from it, then the new space', async () => {
    const oldSpace = spaceFor(oldModel.modelId, 64);
    const newSpace = spaceFor(newModel.modelId, 128);
    const a = await p.upload('a.md', 'text/markdown', utf8('alpha'));
    const b = await p.upload('b.md', 'text/markdown', utf8('beta'));
    await record(a.documentId, 1, 'the comet tail glows', oldModel, 'indexed');
    await record(b.documentId, 1, 'the harbour seals sleep', oldModel, 'indexed');
    expect(await p.indexer!.retrievalSpace()).toEqual(oldSpace);
    expect(await search('comet')).toMatchObject({ mode: 'hybrid', vectorSpace: 'previous', embeddingModel: oldModel.modelId });

    // a is re-embedded with the new model (same version): its old vectors stay, the old space still covers both.
    await record(a.documentId, 1, 'the comet tail glows', newModel, 'embedded');
    expect(await p.indexer!.retrievalSpace()).toEqual(oldSpace);
    expect((await search('comet')).vectorSpace).toBe('previous');

    // A new version of b indexed with the new model only: the old space no longer covers b, so lexical only.
    const b2 = await p.upload('b.md', 'text/markdown', utf8('beta 2'), b.documentId);
    await record(b.documentId, b2.version, 'the harbour seals sleep soundly', newModel, 'indexed');
    // Every document now serves the new model: the new space is complete and wins.
    expect(await p.indexer!.retrievalSpace()).toEqual(newSpace);
    expect(await search('seals')).toMatchObject({ mode: 'hybrid', vectorSpace: 'current', embeddingModel: newModel.modelId });

    // A third document indexed with the old model (an instance not yet restarted): the new space is incomplete,
    // the old one lacks b's new version, so neither serves.
    const c = await p.upload('c.md', 'text/markdown', utf8('gamma'));
    await record(c.documentId, 1, 'the river otters swim', oldModel, 'indexed');
    expect(await p.indexer!.retrievalSpace()).toBeNull();
    expect(await search('otters')).toMatchObject({ mode: 'lexical', vectorSpace: null });
    await p.documents.deleteDocument({ documentId: b.documentId, actorId: OWNER }, commandContext(OWNER));
    await p.caughtUp();
    // b gone: the old space covers a and c again.
    expect(await p.indexer!.retrievalSpace()).toEqual(oldSpace);
    // One line at each change of the answer, none for a repeat.
    expect(logged.filter((msg) => msg.startsWith('retrieval '))).toEqual([
      'retrieval searches the previous embedding model\'s vector space (complete) while the configured model\'s space is being filled',
      'retrieval searches the configured embedding model\'s vector space',
      'retrieval is lexical only while the configured embedding model\'s vector space is being filled (no complete previous space to search; see EMBEDDINGS_PREVIOUS_MODEL)',
      'retrieval searches the previous embedding model\'s vector space (complete) while the configured model\'s space is being filled',
    ]);
  }, 120_000);
});
