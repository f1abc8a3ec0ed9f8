// Which fusion path retrieve() takes: one hybrid query to a vector index that ranks text itself
// (supportsHybrid, as Weaviate does), or the read model's BM25 and the index's vector search fused
// here by RRF. The index is a real pgvector index on PGlite; to offer hybrid queries it is wrapped in
// one that keeps the texts the vector indexer hands it and ranks them (any query word, by count),
// fused with the real vector search — what Weaviate's hybrid query does, in miniature. With
// WEAVIATE_URL set, the same pipeline also runs against Weaviate itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { fuseRrf } from '../../src/infra/retrieval/fusion.ts';
import type { RankedChunk, RetrievalFilter } from '../../src/infra/retrieval/types.ts';
import { PgvectorIndex } from '../../src/infra/vector-index/pgvector-index.ts';
import { spaceFor, VectorIndexError, type VectorIndex, type VectorItem, type VectorSpace } from '../../src/infra/vector-index/port.ts';
import { retrieve } from '../../src/projections/retrieval.ts';
import { utf8 } from '../infra/extraction/fixtures.ts';
import { TestEmbedder } from '../support/test-embedder.ts';
import { OWNER, startPipeline, type Pipeline } from './ingestion/pipeline-harness.ts';

/** A real index plus the items' text and a hybrid query over both. */
class TextKeepingIndex implements VectorIndex {
  readonly kind = 'weaviate';
  readonly supportsHybrid = true;
  readonly texts = new Map<string, VectorItem>();
  hybridCalls = 0;
  /** Answer 'unsupported', as Weaviate does for a space made before it kept text. */
  refuse = false;
  readonly #inner: VectorIndex;

  constructor(inner: VectorIndex) {
    this.#inner = inner;
  }

  ensureSpace(space: VectorSpace) { return this.#inner.ensureSpace(space); }
  async upsert(space: VectorSpace, items: VectorItem[]) {
    await this.#inner.upsert(space, items);
    for (const item of items) this.texts.set(item.chunkId, item);
  }
  search(space: VectorSpace, vector: Float32Array, filter: RetrievalFilter, limit: number) { return this.#inner.search(space, vector, filter, limit); }
  async hybridSearch(space: VectorSpace, text: string, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]> {
    this.hybridCalls += 1;
    if (this.refuse) throw new VectorIndexError('unsupported', 'this space keeps no text');
    const words = new Set(text.toLowerCase().split(/\W+/).filter(Boolean));
    const keyword = [...this.texts.values()]
      .filter((item) => item.ownerId === filter.ownerId && (filter.documentIds?.includes(item.documentId) ?? true))
      .map((item) => ({ item, n: (item.text ?? '').toLowerCase().split(/\W+/).filter((w) => words.has(w)).length }))
      .filter(({ n }) => n > 0)
      .sort((a, b) => b.n - a.n || (a.item.chunkId < b.item.chunkId ? -1 : 1))
      .map(({ item, n }, i) => ({ chunkId: item.chunkId, documentId: item.documentId, version: item.version, score: n, rank: i + 1 }));
    return fuseRrf([keyword, await this.#inner.search(space, vector, filter, limit)], { limit });
  }
  async deleteDocument(ownerId: string, documentId: string) {
    for (const [id, item] of this.texts) if (item.ownerId === ownerId && item.documentId === documentId) this.texts.delete(id);
    return this.#inner.deleteDocument(ownerId, documentId);
  }
  async deleteDocumentVersion(ownerId: string, documentId: string, version: number) {
    for (const [id, item] of this.texts) if (item.ownerId === ownerId && item.documentId === documentId && item.version === version) this.texts.delete(id);
    return this.#inner.deleteDocumentVersion(ownerId, documentId, version);
  }
  async deleteOwner(ownerId: string) {
    for (const [id, item] of this.texts) if (item.ownerId === ownerId) this.texts.delete(id);
    return this.#inner.deleteOwner(ownerId);
  }
  count(space: VectorSpace, filter?: { ownerId?: string; documentId?: string }) { return this.#inner.count(space, filter); }
  spaces() { return this.#inner.spaces(); }
  dropSpace(space: VectorSpace) { return this.#inner.dropSpace(space); }
}

const NOTES = `# Harbour log

## Seals

Grey seals haul out on the breakwater at low tide and sleep in the sun.

## Ferries

The island ferry leaves at dawn; timetables change with the tides in winter.
`;
const RECIPES = '# Bread\n\nKnead the dough, let it rise overnight, and bake it in a hot oven until the crust sings.';

describe('retrieve: the fusion path follows the vector index', () => {
  const embedder = new TestEmbedder();
  let db: PgliteReadDb;
  let pgvector: PgvectorIndex;
  let index: TextKeepingIndex;
  let p: Pipeline;
  let notes: string;

  beforeAll(async () => {
    db = await PgliteReadDb.open();
    pgvector = await PgvectorIndex.open(db);
    index = new TextKeepingIndex(pgvector);
    p = await startPipeline({ readDb: db, vectorIndex: index, embedder });
    notes = (await p.upload('harbour.md', 'text/markdown', utf8(NOTES))).documentId;
    const recipes = (await p.upload('bread.md', 'text/markdown', utf8(RECIPES))).documentId;
    expect((await p.settled(notes)).type).toBe('DocumentIndexed');
    expect((await p.settled(recipes)).type).toBe('DocumentIndexed');
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
    await db?.close();
  });

  it('hands an index that ranks text every chunk’s text, and asks it one hybrid query', async () => {
    const { rows } = await db.query<{ chunk_id: string; text: string }>('SELECT chunk_id, text FROM document_chunks ORDER BY chunk_id');
    expect(rows.length).toBeGreaterThan(1);
    expect(new Map([...index.texts].map(([id, item]) => [id, item.text]))).toEqual(new Map(rows.map((row) => [row.chunk_id, row.text])));

    const space = spaceFor(embedder.modelId, await embedder.dimensions());
    const before = index.hybridCalls;
    const found = await retrieve({ db, vectorIndex: index, embedder }, { ownerId: OWNER, text: 'where do the seals sleep', limit: 3 });
    expect(index.hybridCalls - before).toBe(1);
    expect(found).toMatchObject({ mode: 'hybrid', fusion: 'index', vectorSpace: 'current', embeddingModel: embedder.modelId });
    expect(found.hits[0]!.text).toContain('Grey seals haul out');
    // The order is the index's own ranking (every document here serves its only version).
    const [vector] = await embedder.embed(['where do the seals sleep']);
    expect(found.hits.map((hit) => hit.chunkId)).toEqual(
      (await index.hybridSearch(space, 'where do the seals sleep', vector!, { ownerId: OWNER }, 24)).slice(0, 3).map((hit) => hit.chunkId));
    // Scoped to one document, the hybrid query is scoped too.
    const scoped = await retrieve({ db, vectorIndex: index, embedder }, { ownerId: OWNER, text: 'bake bread in the oven', documentIds: [notes], limit: 3 });
    expect(scoped.fusion).toBe('index');
    expect(scoped.hits.every((hit) => hit.documentId === notes)).toBe(true);
  });

  it('fuses BM25 and vector search here for an index without hybrid queries, for a space that keeps no text, and for another k', async () => {
    const query = { ownerId: OWNER, text: 'ferry timetable tides', limit: 3 };
    const plain = await retrieve({ db, vectorIndex: pgvector, embedder }, query);
    expect(plain).toMatchObject({ mode: 'hybrid', fusion: 'rrf' });
    expect(plain.hits[0]!.text).toContain('island ferry');

    index.refuse = true;
    try {
      const before = index.hybridCalls;
      const fallback = await retrieve({ db, vectorIndex: index, embedder }, query);
      expect(index.hybridCalls - before).toBe(1);
      expect(fallback.fusion).toBe('rrf');
      expect(fallback.hits).toEqual(plain.hits);
    } finally {
      index.refuse = false;
    }

    const before = index.hybridCalls;
    const otherK = await retrieve({ db, vectorIndex: index, embedder }, { ...query, rrfK: 10 });
    expect(index.hybridCalls).toBe(before);
    expect(otherK.fusion).toBe('rrf');
    expect(otherK.hits.map((hit) => hit.chunkId)).toEqual((await retrieve({ db, vectorIndex: pgvector, embedder }, { ...query, rrfK: 10 })).hits.map((hit) => hit.chunkId));
  });

  it('is lexical, with no fusion, without an embedder', async () => {
    const lexical = await retrieve({ db, vectorIndex: index, embedder: null }, { ownerId: OWNER, text: 'seals', limit: 3 });
    expect(lexical).toMatchObject({ mode: 'lexical', fusion: null });
    expect(lexical.hits[0]!.text).toContain('Grey seals');
  });
});
