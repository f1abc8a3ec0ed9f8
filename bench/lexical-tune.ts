// Tuning the lexical ranking on SciFact **train** only (the test split is never read here): the
// tokenizer and BM25 of src/infra/retrieval/lexical, replayed in memory so that a grid of variants
// takes seconds instead of the PGlite bench's minutes. The chosen settings are then measured once
// on test by the real index (bench/retrieval.bench.ts). `npx node bench/lexical-tune.ts`
// (TUNE_VARIANTS=0,9 picks variants by number, TUNE_K1 / TUNE_B override the grid). Variant 0 is the
// tokenizer with repeated query terms counted (the ranking before 2026-12-02); the last one is the
// product's ranking now (each distinct query term once).
import { stemmer } from 'stemmer';
import { eng } from 'stopword';
import { tokenize } from '../src/infra/retrieval/lexical/tokenize.ts';
import { ndcgAt, readCorpus, readQrels, readQueries, SCIFACT_DIR } from './beir.ts';

// Lucene's EnglishAnalyzer stop set (33 words).
const LUCENE = ['a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with'];
interface Variant { name: string; tokenize: (text: string) => string[]; distinctQueryTerms?: boolean }
function variant(name: string, stop: ReadonlySet<string>, word: RegExp, stem: (w: string) => string): Variant {
  return {
    name, tokenize: (text) => {
      const out: string[] = [];
      for (const m of text.normalize('NFKC').toLowerCase().matchAll(word)) {
        if (m[0].length > 66) continue;
        const w = m[0].replace(/['’]s$/u, '');
        if (stop.has(w)) continue;
        const bare = w.replace(/['’]/gu, '');
        if (!bare || bare.length > 64 || stop.has(bare)) continue;
        out.push(/^[a-z]+$/.test(bare) ? stem(bare) : bare);
      }
      return out;
    },
  };
}
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
const WORD_DECIMALS = /\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
const stopwordNeg = new Set(eng.filter((w: string) => w !== 'no' && w !== 'not'));
/** The product's tokenizer, plus each hyphenated compound joined into one more term (IL-6 → il, 6, il6). */
const withCompounds = (text: string): string[] => {
  const terms = tokenize(text);
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(/[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)+/gu)) {
    const joined = m[0].replace(/-/g, '');
    if (joined.length <= 64) terms.push(/^[a-z]+$/.test(joined) ? stemmer(joined) : joined);
  }
  return terms;
};
const VARIANTS: Variant[] = [
  { name: 'tokenize(), repeated query terms counted (the ranking before)', tokenize },
  variant('stopword 108 (no/not kept), porter', stopwordNeg, WORD, stemmer),
  variant('stopword 108 all, porter', new Set(eng), WORD, stemmer),
  variant('lucene 33, porter', new Set(LUCENE), WORD, stemmer),
  variant('no stop words, porter', new Set(), WORD, stemmer),
  variant('stopword 108 (no/not kept), porter, decimals kept', stopwordNeg, WORD_DECIMALS, stemmer),
  variant('lucene 33, porter, decimals kept', new Set(LUCENE), WORD_DECIMALS, stemmer),
  variant('stopword 108 (no/not kept), no stemming', stopwordNeg, WORD, (w) => w),
  { name: 'tokenize() + hyphenated compounds joined', tokenize: withCompounds },
  { name: 'tokenize(), each distinct query term once (the ranking now)', tokenize, distinctQueryTerms: true },
];

interface Index { postings: Map<string, Array<[number, number]>>; lengths: Float64Array; ids: string[]; avgdl: number }
function buildIndex(docs: Array<{ id: string; text: string }>, tok: (t: string) => string[]): Index {
  const postings = new Map<string, Array<[number, number]>>();
  const lengths = new Float64Array(docs.length);
  docs.forEach((doc, i) => {
    const terms = tok(doc.text);
    lengths[i] = terms.length;
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) { let list = postings.get(t); if (!list) postings.set(t, list = []); list.push([i, n]); }
  });
  return { postings, lengths, ids: docs.map((d) => d.id), avgdl: lengths.reduce((a, b) => a + b, 0) / docs.length };
}
function search(index: Index, query: string[], k1: number, b: number, limit = 10): string[] {
  const qtf = new Map<string, number>();
  for (const t of query) qtf.set(t, (qtf.get(t) ?? 0) + 1);
  const scores = new Float64Array(index.ids.length);
  const touched: number[] = [];
  const n = index.ids.length;
  for (const [t, q] of [...qtf].slice(0, 256)) {
    const list = index.postings.get(t);
    if (!list) continue;
    const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
    for (const [doc, tf] of list) {
      if (scores[doc] === 0) touched.push(doc);
      scores[doc]! += q * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * index.lengths[doc]! / index.avgdl));
    }
  }
  // Top `limit`, ties to the bytewise smaller id (chunk ids share their prefix), as in SQL.
  const better = (x: number, y: number) => scores[x]! > scores[y]! || (scores[x] === scores[y] && index.ids[x]! < index.ids[y]!);
  const top: number[] = [];
  for (const doc of touched) {
    if (top.length === limit && !better(doc, top[limit - 1]!)) continue;
    let at = top.length === limit ? limit - 1 : top.length;
    top[at] = doc;
    while (at > 0 && better(top[at]!, top[at - 1]!)) { [top[at], top[at - 1]] = [top[at - 1]!, top[at]!]; at--; }
  }
  return top.map((d) => index.ids[d]!);
}

const corpus = readCorpus(SCIFACT_DIR).map((d) => ({ id: d.id, text: `${d.title}\n${d.text}` }));
const queries = readQueries(SCIFACT_DIR);
const train = readQrels(SCIFACT_DIR, 'train');
const K1 = (process.env.TUNE_K1 ?? '0.6,0.8,0.9,1.0,1.2,1.4,1.6,1.8').split(',').map(Number);
const B = (process.env.TUNE_B ?? '0.3,0.4,0.5,0.6,0.75,0.9').split(',').map(Number);
const only = process.env.TUNE_VARIANTS?.split(',').map(Number);
const results: Array<{ name: string; k1: number; b: number; ndcg: number }> = [];
for (const [vi, v] of VARIANTS.entries()) {
  if (only && !only.includes(vi)) continue;
  const index = buildIndex(corpus.map((d) => ({ id: d.id, text: d.text })), v.tokenize);
  const qterms = new Map([...train.keys()].map((q) => {
    const terms = v.tokenize(queries.get(q) ?? '');
    return [q, v.distinctQueryTerms ? [...new Set(terms)] : terms];
  }));
  let best = { k1: 0, b: 0, ndcg: -1 };
  for (const k1 of K1) for (const b of B) {
    const ranked = new Map([...qterms].map(([q, terms]) => [q, search(index, terms, k1, b)]));
    const ndcg = ndcgAt(10, train, ranked);
    results.push({ name: v.name, k1, b, ndcg });
    if (ndcg > best.ndcg) best = { k1, b, ndcg };
  }
  const at = results.find((r) => r.name === v.name && r.k1 === 1.2 && r.b === 0.4);
  console.log(`${vi}. ${v.name}: best k1 ${best.k1} b ${best.b} nDCG@10 ${best.ndcg.toFixed(4)}  (at 1.2/0.4: ${at?.ndcg.toFixed(4) ?? '-'})`);
  const top = results.filter((r) => r.name === v.name).sort((x, y) => y.ndcg - x.ndcg).slice(0, 5);
  console.log(`   top 5: ${top.map((r) => `${r.k1}/${r.b} ${r.ndcg.toFixed(4)}`).join(', ')}`);
}
