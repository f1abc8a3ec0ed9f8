// Vector search latency at scale: p50/p95 of VectorIndex.search over `chunks` vectors of one owner
// (256 dimensions from the TEST embedder, over synthetic Zipf-distributed text), for pgvector on
// PGlite and, with DATABASE_URL, for the adapter createVectorIndex picks on PostgreSQL. Baseline in
// the same run: exact brute-force cosine in JS over the same vectors. Also reports recall@10 of each
// adapter against that exact answer (HNSW is approximate; real[] is exact).
import { randomUUID } from 'node:crypto';
import { PgliteReadDb } from '../src/infra/read-db/pglite-read-db.ts';
import type { ReadDb } from '../src/infra/read-db/port.ts';
import { PostgresReadDb } from '../src/infra/read-db/postgres-read-db.ts';
import { createVectorIndex } from '../src/infra/vector-index/create-vector-index.ts';
import { spaceFor, type VectorIndex, type VectorItem } from '../src/infra/vector-index/port.ts';
import { TestEmbedder } from '../test/support/test-embedder.ts';
import { percentile } from './measure.ts';

const LIMIT = 10;
const DIMENSIONS = 256;

/** Deterministic PRNG (mulberry32), so every run indexes the same texts. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Synthetic text: words drawn from a 20,000-word Zipf vocabulary, like natural text's word frequencies. */
function textGenerator(seed: number): (words: number) => string {
  const random = prng(seed);
  const vocabulary = 20_000;
  const weights = Array.from({ length: vocabulary }, (_, i) => 1 / (i + 1));
  const cumulative: number[] = [];
  let sum = 0;
  for (const weight of weights) cumulative.push((sum += weight));
  const word = () => {
    const target = random() * sum;
    let lo = 0;
    let hi = vocabulary - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return `w${lo.toString(36)}`;
  };
  return (words) => Array.from({ length: words }, word).join(' ');
}

/** Exact top-k by cosine in JS: the vectors are unit length, so cosine is the dot product. */
function bruteForce(flat: Float32Array, ids: string[], query: Float32Array, k: number): number[] {
  const scores = new Float64Array(ids.length);
  for (let row = 0; row < ids.length; row++) {
    let dot = 0;
    const offset = row * DIMENSIONS;
    for (let i = 0; i < DIMENSIONS; i++) dot += flat[offset + i]! * query[i]!;
    scores[row] = dot;
  }
  const top: number[] = [];
  for (let row = 0; row < ids.length; row++) {
    if (top.length < k || scores[row]! > scores[top[top.length - 1]!]!) {
      top.push(row);
      top.sort((a, b) => scores[b]! - scores[a]!);
      if (top.length > k) top.pop();
    }
  }
  return top.map((row) => scores[row]!);
}

function dot(flat: Float32Array, row: number, query: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < DIMENSIONS; i++) sum += flat[row * DIMENSIONS + i]! * query[i]!;
  return sum;
}

interface Latency {
  p50: number;
  p95: number;
}

async function time(queries: Float32Array[], run: (query: Float32Array) => Promise<unknown> | unknown): Promise<Latency> {
  for (const query of queries.slice(0, 3)) await run(query); // warm-up
  const took: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    await run(query);
    took.push(performance.now() - started);
  }
  return { p50: percentile(took, 50), p95: percentile(took, 95) };
}

/**
 * Recall@k with ties counted fairly: a hit is right when its exact score reaches the exact k-th best
 * (bag-of-words vectors tie often, and any of the tied chunks is an equally correct answer).
 */
async function measureIndex(label: string, index: VectorIndex, items: VectorItem[], queries: Float32Array[], exact: number[][], flat: Float32Array, ownerId: string): Promise<void> {
  const space = spaceFor(`bench:${randomUUID()}`, DIMENSIONS);
  await index.ensureSpace(space);
  const started = performance.now();
  for (let start = 0; start < items.length; start += 1000) await index.upsert(space, items.slice(start, start + 1000));
  const upsertSeconds = (performance.now() - started) / 1000;
  let found = 0;
  for (const [i, query] of queries.entries()) {
    const hits = await index.search(space, query, { ownerId }, LIMIT);
    const kth = exact[i]![exact[i]!.length - 1]!;
    found += hits.filter((hit) => dot(flat, Number(hit.chunkId.slice(1)), query) >= kth - 1e-6).length;
  }
  const latency = await time(queries, (query) => index.search(space, query, { ownerId }, LIMIT));
  // A search right after a write to the same owner (the real[] adapter then reloads the owner's vectors).
  const afterWrite: number[] = [];
  for (let round = 0; round < 5; round++) {
    await index.upsert(space, [{ ...items[round]!, version: 2 + round }]);
    const started = performance.now();
    await index.search(space, queries[round % queries.length]!, { ownerId }, LIMIT);
    afterWrite.push(performance.now() - started);
  }
  rows.push({ label, latency, recall: found / (queries.length * LIMIT), upsertRate: items.length / upsertSeconds, afterWriteMs: percentile(afterWrite, 50) });
  await index.dropSpace(space);
}

interface ResultRow {
  label: string;
  latency: Latency;
  recall?: number;
  upsertRate?: number;
  afterWriteMs?: number;
}

let rows: ResultRow[] = [];

export async function benchVectorSearch(sizes: { chunks: number; queries: number }): Promise<void> {
  rows = [];
  const embedder = new TestEmbedder(DIMENSIONS);
  const texts = textGenerator(7);
  const ownerId = randomUUID();
  const chunkTexts = Array.from({ length: sizes.chunks }, () => texts(30));
  const vectors = await embedder.embed(chunkTexts);
  const items: VectorItem[] = vectors.map((vector, i) => ({ chunkId: `c${i}`, documentId: `d${Math.floor(i / 50)}`, version: 1, ownerId, vector }));
  const queries = await embedder.embed(Array.from({ length: sizes.queries }, () => texts(6)));

  const flat = new Float32Array(sizes.chunks * DIMENSIONS);
  vectors.forEach((vector, row) => flat.set(vector, row * DIMENSIONS));
  const ids = items.map((item) => item.chunkId);
  const exact = queries.map((query) => bruteForce(flat, ids, query, LIMIT));
  const baseline = await time(queries, (query) => bruteForce(flat, ids, query, LIMIT));

  const pglite = await PgliteReadDb.open();
  try {
    await measureIndex('pgvector (HNSW) on PGlite', (await createVectorIndex(pglite)).index, items, queries, exact, flat, ownerId);
  } finally {
    await pglite.close();
  }
  if (process.env.DATABASE_URL) {
    let db: ReadDb | undefined;
    try {
      db = await PostgresReadDb.open({ connectionString: process.env.DATABASE_URL });
      const { index } = await createVectorIndex(db);
      await measureIndex(`${index.kind === 'pgvector' ? 'pgvector (HNSW)' : 'real[] exact'} on PostgreSQL`, index, items, queries, exact, flat, ownerId);
    } finally {
      await db?.close();
    }
  }

  console.log(`\n## Vector search (${sizes.chunks.toLocaleString('en')} chunks of one owner, ${DIMENSIONS} dims from the test embedder, top ${LIMIT}, ${sizes.queries} queries)`);
  const lines = [
    ['adapter', 'p50', 'p95', 'p50 vs baseline', 'recall@10', 'upsert', 'first search after a write'],
    ...rows.map((row) => [
      row.label, `${row.latency.p50.toFixed(2)} ms`, `${row.latency.p95.toFixed(2)} ms`,
      `${(row.latency.p50 / baseline.p50).toFixed(2)}x the time of JS brute force`,
      row.recall === undefined ? '' : row.recall.toFixed(3),
      row.upsertRate === undefined ? '' : `${Math.round(row.upsertRate).toLocaleString('en')} vectors/s`,
      row.afterWriteMs === undefined ? '' : `${row.afterWriteMs.toFixed(1)} ms (median of 5)`,
    ]),
    ['baseline: exact cosine in JS (same vectors)', `${baseline.p50.toFixed(2)} ms`, `${baseline.p95.toFixed(2)} ms`, '1.00x', '1.000', '', ''],
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  for (const line of lines) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join('  |  '));
}

if (import.meta.main) {
  await benchVectorSearch({ chunks: Number(process.env.BENCH_CHUNKS ?? 50_000), queries: Number(process.env.BENCH_QUERIES ?? 100) });
}
