// npm run bench — prints each result as a rate and as a ratio to a baseline measured in the same run.
// BENCH_QUICK=1 shrinks the sizes (a quick check that every benchmark still runs). PostgreSQL rows need DATABASE_URL.
// BENCH_ONLY=postgres,sqlite,... runs only those sections (startup, memory, sqlite, postgres, chain, projection, api, firsttoken, fanout, ingestion, retrieval, vector, scale).
// scale: the scale sweep and the memory with data (BENCH_ONLY=scale-sweep or scale-memory for one of them); the full sweep takes about an hour.
import { benchPostgres, benchSqlite } from './event-store.bench.ts';
import { benchApi } from './api.bench.ts';
import { benchFirstToken } from './first-token.bench.ts';
import { benchChain } from './chain.bench.ts';
import { benchProjectionRebuild } from './projection.bench.ts';
import { benchFanout } from './fanout.bench.ts';
import { benchIdleMemory } from './memory.bench.ts';
import { benchStartup } from './startup.bench.ts';
import { benchIngestion } from './ingestion.bench.ts';
import { benchRetrievalLatency, benchRetrievalQuality } from './retrieval.bench.ts';
import { benchVectorSearch } from './vector.bench.ts';
import { benchMemoryWithData, benchScale, scaleSizes } from './scale.bench.ts';

const quick = process.env.BENCH_QUICK === '1';
const sizes = quick
  ? { runs: 1, appends: 200, readEvents: 2_000, growthEvents: 2_000, rebuildEvents: 1_000, ttfdRounds: 1, fanout: 50, fanoutRounds: 2, queries: 200, chunks: 2_000, searches: 50 }
  : { runs: 5, appends: 2_000, readEvents: 50_000, growthEvents: 100_000, rebuildEvents: 20_000, ttfdRounds: 3, fanout: 1_000, fanoutRounds: 5, queries: 3_000, chunks: 50_000, searches: 300 };

console.log(`# Evident benchmarks (${quick ? 'quick' : 'full'}; medians of ${sizes.runs} runs; Node ${process.version})`);
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
const wanted = (name: string) => !only || only.includes(name);
if (wanted('startup')) await benchStartup(sizes);
if (wanted('memory')) await benchIdleMemory(sizes);
if (wanted('sqlite')) await benchSqlite(sizes);
if (wanted('postgres')) {
  if (process.env.DATABASE_URL) await benchPostgres(sizes, process.env.DATABASE_URL);
  else console.log('\n## PostgreSQL event store: skipped, DATABASE_URL is not set');
}
if (wanted('chain')) await benchChain(sizes);
if (wanted('projection')) await benchProjectionRebuild(sizes);
if (wanted('api')) await benchApi(sizes);
if (wanted('firsttoken')) await benchFirstToken(sizes);
if (wanted('fanout')) await benchFanout(sizes);
if (wanted('ingestion')) await benchIngestion(sizes);
// SciFact's full corpus either way: quality numbers are only comparable on the whole test split.
if (wanted('retrieval')) await benchRetrievalQuality();
if (wanted('retrieval')) await benchRetrievalLatency({ chunks: sizes.chunks, queries: sizes.searches });
if (wanted('vector')) await benchVectorSearch({ chunks: sizes.chunks, queries: sizes.searches });
if (wanted('scale') || wanted('scale-sweep')) await benchScale(scaleSizes(quick));
if (wanted('scale') || wanted('scale-memory')) await benchMemoryWithData(scaleSizes(quick));
