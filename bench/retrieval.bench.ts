// Retrieval benchmarks: lexical (BM25) quality on SciFact (BEIR layout) and search latency at scale,
// each beside PostgreSQL full-text search (ts_rank_cd) measured in the same run.
// SCIFACT_DIR overrides the dataset folder; BENCH_TUNE=1 also grid-searches k1/b on train.
// The dataset is CC BY-NC: it is read from its folder, never copied into the repository.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../src/app.ts';
import { migrate } from '../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../src/infra/read-db/pglite-read-db.ts';
import type { ReadDb } from '../src/infra/read-db/port.ts';
import { addChunks, DEFAULT_B, DEFAULT_K1, searchLexical } from '../src/infra/retrieval/lexical/lexical-index.ts';
import { fuseRrf } from '../src/infra/retrieval/fusion.ts';
import type { IndexedChunk, RankedChunk } from '../src/infra/retrieval/types.ts';
import { ndcgAt, readCorpus, readQrels, readQueries, SCIFACT_DIR, type BeirDoc, type Qrels } from './beir.ts';
import { hashedBagOfWords, TEST_EMBEDDER_MODEL_ID } from '../test/support/test-embedder.ts';

const OWNER = 'bench-owner';
const PUBLISHED_BM25 = 0.665;

function chunkOf(doc: BeirDoc, copy = 0): IndexedChunk {
  return {
    chunkId: copy === 0 ? `scifact-${doc.id}` : `scifact-${doc.id}-${copy}`, documentId: doc.id, version: 1,
    ownerId: OWNER, index: 0, text: `${doc.title}\n${doc.text}`, page: null, headingPath: [],
  };
}

async function indexChunks(db: ReadDb, chunks: readonly IndexedChunk[]): Promise<void> {
  for (let i = 0; i < chunks.length; i += 2_000) {
    await db.transaction((tx) => addChunks(tx, chunks.slice(i, i + 2_000)).then(() => undefined));
  }
}

/** The baseline: PostgreSQL full-text search over the same chunks (any query word matches), by ts_rank_cd. */
async function indexFullText(db: ReadDb, chunks: readonly IndexedChunk[]): Promise<void> {
  await db.exec(`CREATE TABLE bench_fts (chunk_id text PRIMARY KEY, owner_id text NOT NULL, document_id text NOT NULL, tsv tsvector NOT NULL);
    CREATE INDEX bench_fts_tsv ON bench_fts USING gin (tsv)`);
  for (let i = 0; i < chunks.length; i += 2_000) {
    const slice = chunks.slice(i, i + 2_000);
    await db.query(
      `INSERT INTO bench_fts SELECT c, o, d, to_tsvector('english', t) FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(c, o, d, t)`,
      [slice.map((c) => c.chunkId), slice.map((c) => c.ownerId), slice.map((c) => c.documentId), slice.map((c) => c.text)],
    );
  }
  await db.exec('ANALYZE bench_fts');
}

const FULL_TEXT_QUERY = `WITH q AS (SELECT nullif(replace(plainto_tsquery('english', $2)::text, '&', '|'), '')::tsquery AS q)
  SELECT f.chunk_id, f.document_id FROM bench_fts f, q
  WHERE f.owner_id = $1 AND f.tsv @@ q.q ORDER BY ts_rank_cd(f.tsv, q.q) DESC, f.chunk_id COLLATE "C" LIMIT $3`;

async function searchFullText(db: ReadDb, query: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ document_id: string }>(FULL_TEXT_QUERY, [OWNER, query, limit]);
  return rows.map((row) => row.document_id);
}

async function runQueries(
  qrels: Qrels, queries: Map<string, string>, search: (text: string) => Promise<string[]>,
): Promise<Map<string, string[]>> {
  const ranked = new Map<string, string[]>();
  for (const query of qrels.keys()) ranked.set(query, await search(queries.get(query) ?? ''));
  return ranked;
}

function bm25(db: ReadDb, k1: number, b: number) {
  return async (text: string) =>
    (await searchLexical(db, text, { ownerId: OWNER }, { limit: 10, k1, b })).map((hit) => hit.documentId);
}

async function tune(db: ReadDb, queries: Map<string, string>): Promise<void> {
  const train = readQrels(SCIFACT_DIR, 'train');
  const results: Array<{ k1: number; b: number; ndcg: number }> = [];
  for (const k1 of [0.6, 0.9, 1.2, 1.5, 1.8]) {
    for (const b of [0.3, 0.4, 0.5, 0.6, 0.75]) {
      results.push({ k1, b, ndcg: ndcgAt(10, train, await runQueries(train, queries, bm25(db, k1, b))) });
    }
  }
  results.sort((x, y) => y.ndcg - x.ndcg);
  console.log(`\n### k1/b grid on train (${train.size} queries), best first`);
  for (const r of results) console.log(`k1 ${r.k1.toFixed(1)}  b ${r.b.toFixed(2)}  nDCG@10 ${r.ndcg.toFixed(4)}`);
}

const TEST_DIMENSIONS = 256;
/** Hits taken from each ranker before fusion. */
const FUSION_DEPTH = 100;

/** Exact cosine nearest neighbours (the vectors are L2-normalised, so a dot product), as ranked chunks. */
function nearest(vectors: ReadonlyArray<{ chunk: IndexedChunk; vector: Float32Array }>, text: string, limit: number): RankedChunk[] {
  const query = hashedBagOfWords(text, TEST_DIMENSIONS);
  return vectors
    .map(({ chunk, vector }) => {
      let dot = 0;
      for (let i = 0; i < TEST_DIMENSIONS; i++) dot += vector[i]! * query[i]!;
      return { chunk, dot };
    })
    .sort((a, b) => b.dot - a.dot || (a.chunk.chunkId < b.chunk.chunkId ? -1 : 1))
    .slice(0, limit)
    .map(({ chunk, dot }, i) => ({ chunkId: chunk.chunkId, documentId: chunk.documentId, version: chunk.version, score: dot, rank: i + 1 }));
}

export async function benchRetrievalQuality(): Promise<void> {
  if (!existsSync(join(SCIFACT_DIR, 'corpus.jsonl'))) {
    console.log(`\n## Retrieval quality (SciFact): skipped, no dataset at ${SCIFACT_DIR}`);
    return;
  }
  const corpus = readCorpus(SCIFACT_DIR);
  const queries = readQueries(SCIFACT_DIR);
  const test = readQrels(SCIFACT_DIR, 'test');
  const db = await PgliteReadDb.open({});
  try {
    await migrate(db, MIGRATIONS_DIR);
    const chunks = corpus.map((doc) => chunkOf(doc));
    await indexChunks(db, chunks);
    await indexFullText(db, chunks);
    if (process.env.BENCH_TUNE === '1') await tune(db, queries);
    const lexical = ndcgAt(10, test, await runQueries(test, queries, bm25(db, DEFAULT_K1, DEFAULT_B)));
    const fullText = ndcgAt(10, test, await runQueries(test, queries, (text) => searchFullText(db, text, 10)));
    const vectors = chunks.map((chunk) => ({ chunk, vector: hashedBagOfWords(chunk.text, TEST_DIMENSIONS) }));
    const vectorOnly = ndcgAt(10, test, await runQueries(test, queries, async (text) => nearest(vectors, text, 10).map((hit) => hit.documentId)));
    const hybrid = ndcgAt(10, test, await runQueries(test, queries, async (text) => {
      const lexicalHits = await searchLexical(db, text, { ownerId: OWNER }, { limit: FUSION_DEPTH });
      return fuseRrf([lexicalHits, nearest(vectors, text, FUSION_DEPTH)], { limit: 10 }).map((hit) => hit.documentId);
    }));
    console.log(`\n## Retrieval quality (SciFact test: ${corpus.length.toLocaleString('en')} docs, ${test.size} queries; PGlite)`);
    console.log(`lexical BM25 (k1 ${DEFAULT_K1}, b ${DEFAULT_B})  |  nDCG@10 ${lexical.toFixed(4)}  |  ` +
      `${(lexical / fullText).toFixed(2)}x of ts_rank_cd full-text search (nDCG@10 ${fullText.toFixed(4)})  |  ` +
      `${(lexical / PUBLISHED_BM25).toFixed(2)}x of published BM25 (${PUBLISHED_BM25})`);
    console.log(`hybrid, BM25 + ${TEST_EMBEDDER_MODEL_ID} by RRF (k 60, top ${FUSION_DEPTH} of each)  |  nDCG@10 ${hybrid.toFixed(4)}  |  ` +
      `${(hybrid / lexical).toFixed(2)}x of BM25 alone  |  the test embedder alone: nDCG@10 ${vectorOnly.toFixed(4)} (a hashed bag of words, not a semantic model)`);
  } finally {
    await db.close();
  }
}

/** Deterministic text with a Zipf-like word distribution, for when SciFact is not at hand. */
function syntheticChunks(count: number): IndexedChunk[] {
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const vocabulary = 30_000;
  const word = () => `w${Math.floor(vocabulary ** random())}x`;
  return Array.from({ length: count }, (_, i) => ({
    chunkId: `synthetic-${i}`, documentId: `doc-${Math.floor(i / 20)}`, version: 1, ownerId: OWNER, index: i % 20,
    text: Array.from({ length: 200 }, word).join(' '), page: null, headingPath: [],
  }));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latencies(queries: readonly string[], run: (query: string) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (const query of queries.slice(0, 20)) await run(query); // warm caches and plans
  const times: number[] = [];
  for (const query of queries) {
    const started = process.hrtime.bigint();
    await run(query);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

export async function benchRetrievalLatency(sizes: { chunks: number; queries: number }): Promise<void> {
  const haveSciFact = existsSync(join(SCIFACT_DIR, 'corpus.jsonl'));
  let chunks: IndexedChunk[];
  let queries: string[];
  if (haveSciFact) {
    const corpus = readCorpus(SCIFACT_DIR);
    chunks = Array.from({ length: sizes.chunks }, (_, i) => chunkOf(corpus[i % corpus.length]!, Math.floor(i / corpus.length)));
    const all = [...readQueries(SCIFACT_DIR).values()];
    queries = Array.from({ length: sizes.queries }, (_, i) => all[i % all.length]!);
  } else {
    chunks = syntheticChunks(sizes.chunks);
    queries = Array.from({ length: sizes.queries }, (_, i) => chunks[(i * 7919) % chunks.length]!.text.split(' ').slice(0, 8).join(' '));
  }
  const db = await PgliteReadDb.open({});
  try {
    await migrate(db, MIGRATIONS_DIR);
    await indexChunks(db, chunks);
    await db.exec('ANALYZE lexical_chunks; ANALYZE lexical_postings; ANALYZE lexical_owner_stats');
    await indexFullText(db, chunks);
    const lexical = await latencies(queries, (q) => searchLexical(db, q, { ownerId: OWNER }, { limit: 10 }));
    const fullText = await latencies(queries, (q) => searchFullText(db, q, 10));
    const source = haveSciFact ? 'SciFact corpus repeated, SciFact claims as queries' : 'synthetic Zipf text';
    console.log(`\n## Retrieval latency (${sizes.chunks.toLocaleString('en')} chunks of one owner, ${queries.length} queries, top 10; PGlite; ${source})`);
    console.log(`lexical BM25 searchLexical  |  p50 ${lexical.p50.toFixed(1)} ms, p95 ${lexical.p95.toFixed(1)} ms  |  ` +
      `${(fullText.p50 / lexical.p50).toFixed(2)}x / ${(fullText.p95 / lexical.p95).toFixed(2)}x the speed (p50 / p95) of ts_rank_cd full-text search ` +
      `(p50 ${fullText.p50.toFixed(1)} ms, p95 ${fullText.p95.toFixed(1)} ms)`);
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchRetrievalQuality();
  await benchRetrievalLatency({ chunks: Number(process.env.BENCH_CHUNKS ?? 50_000), queries: Number(process.env.BENCH_QUERIES ?? 300) });
}
