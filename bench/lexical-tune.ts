// Tuning the lexical ranking on SciFact **train** only (the test split is never read here): analyzer
// variants and the BM25 of src/infra/retrieval/lexical (Lucene's idf, each distinct query term once),
// replayed in memory so that a grid of variants × k1 × b takes minutes instead of the PGlite bench's
// hours. The chosen settings are then measured once on test by the real index
// (bench/retrieval.bench.ts). `npx node bench/lexical-tune.ts` (TUNE_VARIANTS=0,5 picks variants by
// number, TUNE_K1 / TUNE_B override the grid).
//
// Differences between analyzers are small next to the noise of 809 queries, and the argmax of one
// grid over all of train is optimistic. So each variant is scored by 5-fold cross-validation on train
// (k1/b chosen on four folds, nDCG@10 measured on the fifth), with the paired difference to
// analyzer 1 and its standard error; the variant with the best cross-validated score is taken, and
// its k1/b are then the argmax over all of train.
import { stemmer } from 'stemmer';
import { eng } from 'stopword';
import { STOP_WORDS, tokenize } from '../src/infra/retrieval/lexical/tokenize.ts';
import { readCorpus, readQrels, readQueries, SCIFACT_DIR } from './beir.ts';

// NLTK's English stop list (179 words).
const NLTK = "i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him his himself she she's her hers herself it it's its itself they them their theirs themselves what which who whom this that that'll these those am is are was were be been being have has had having do does did doing a an the and but if or because as until while of at by for with about against between into through during before after above below to from up down in out on off over under again further then once here there when where why how all any both each few more most other some such no nor not only own same so than too very s t can will just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't".split(' ');

interface Analysis { terms: string[]; length: number }
interface AnalyzerOptions {
  stop: ReadonlySet<string>;
  /** Drop words shorter than this (in code points); `asciiOnly`: only a–z/0-9 ones. */
  minLength?: number;
  asciiOnly?: boolean;
  /** Porter-stem every word, not only plain a–z ones. */
  stemAll?: boolean;
  /** The document length counts stop words too. */
  lengthWithStopWords?: boolean;
}
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
function analyzer(o: AnalyzerOptions): (text: string) => Analysis {
  return (text) => {
    const terms: string[] = [];
    let words = 0;
    for (const m of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
      if (m[0].length > 66) continue;
      words++;
      const w = m[0].replace(/['’]s$/u, '');
      if (o.stop.has(w)) continue;
      const bare = w.replace(/['’]/gu, '');
      if (!bare || bare.length > 64 || o.stop.has(bare)) continue;
      if (o.minLength && [...bare].length < o.minLength && (!o.asciiOnly || /^[a-z0-9]+$/.test(bare))) continue;
      terms.push(o.stemAll || /^[a-z]+$/.test(bare) ? stemmer(bare) : bare);
    }
    return { terms, length: o.lengthWithStopWords ? words : terms.length };
  };
}
const STOPWORD_108 = new Set(eng);
const VARIANTS: Array<{ name: string; analyze: (text: string) => Analysis }> = [
  { name: 'analyzer 1 (before): stopword 108, one-character words kept', analyze: analyzer({ stop: STOPWORD_108 }) },
  { name: 'analyzer 1, document length counting stop words', analyze: analyzer({ stop: STOPWORD_108, lengthWithStopWords: true }) },
  { name: 'analyzer 1, one-character words dropped', analyze: analyzer({ stop: STOPWORD_108, minLength: 2 }) },
  { name: 'analyzer 1 + no/not/nor as stop words', analyze: analyzer({ stop: new Set([...eng, 'no', 'not', 'nor']) }) },
  { name: 'analyzer 1, every word stemmed', analyze: analyzer({ stop: STOPWORD_108, stemAll: true }) },
  { name: 'Lucene 33, one-character words kept', analyze: analyzer({ stop: STOP_WORDS }) },
  { name: 'Lucene 33, one-character words dropped: tokenize() now (analyzer 2)', analyze: (text) => { const terms = tokenize(text); return { terms, length: terms.length }; } },
  { name: 'Lucene 33, one-character words dropped, every word stemmed', analyze: analyzer({ stop: STOP_WORDS, minLength: 2, stemAll: true }) },
  { name: 'Lucene 33, one-character words dropped, length counting stop words', analyze: analyzer({ stop: STOP_WORDS, minLength: 2, lengthWithStopWords: true }) },
  { name: 'Lucene 33, only one-character a–z/0–9 words dropped (β kept)', analyze: analyzer({ stop: STOP_WORDS, minLength: 2, asciiOnly: true }) },
  { name: 'NLTK 179', analyze: analyzer({ stop: new Set(NLTK) }) },
  { name: 'NLTK 179, length counting stop words', analyze: analyzer({ stop: new Set(NLTK), lengthWithStopWords: true }) },
  { name: 'NLTK 179, every word stemmed', analyze: analyzer({ stop: new Set(NLTK), stemAll: true }) },
  { name: 'NLTK 179, one-character words dropped', analyze: analyzer({ stop: new Set(NLTK), minLength: 2 }) },
];

interface Index { postings: Map<string, Array<[number, number]>>; lengths: Float64Array; ids: string[]; avgdl: number }
function buildIndex(docs: Array<{ id: string; text: string }>, analyze: (text: string) => Analysis): Index {
  const postings = new Map<string, Array<[number, number]>>();
  const lengths = new Float64Array(docs.length);
  docs.forEach((doc, i) => {
    const { terms, length } = analyze(doc.text);
    lengths[i] = length;
    const tf = new Map<string, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, n] of tf) { let list = postings.get(t); if (!list) postings.set(t, list = []); list.push([i, n]); }
  });
  return { postings, lengths, ids: docs.map((d) => d.id), avgdl: lengths.reduce((a, b) => a + b, 0) / docs.length };
}
/** The SQL's BM25: Σ over distinct query terms (first 256) of ln(1 + (N − df + 0.5)/(df + 0.5)) · tf(k1+1)/(tf + k1(1 − b + b·dl/avgdl)). */
function search(index: Index, query: string[], k1: number, b: number, limit = 10): string[] {
  const scores = new Float64Array(index.ids.length);
  const touched: number[] = [];
  const n = index.ids.length;
  for (const t of [...new Set(query)].slice(0, 256)) {
    const list = index.postings.get(t);
    if (!list) continue;
    const idf = Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5));
    for (const [doc, tf] of list) {
      if (scores[doc] === 0) touched.push(doc);
      scores[doc]! += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * index.lengths[doc]! / index.avgdl));
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
/** nDCG@10 of one query as trec_eval computes it (bench/beir.ts ndcgAt, per query). */
function ndcg10(judged: Map<string, number>, ranked: string[]): number {
  const dcg = ranked.slice(0, 10).reduce((acc, doc, i) => acc + (judged.get(doc) ?? 0) / Math.log2(i + 2), 0);
  const ideal = [...judged.values()].sort((a, b) => b - a).slice(0, 10).reduce((acc, grade, i) => acc + grade / Math.log2(i + 2), 0);
  return ideal > 0 ? dcg / ideal : 0;
}
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const corpus = readCorpus(SCIFACT_DIR).map((d) => ({ id: d.id, text: `${d.title}\n${d.text}` }));
const queries = readQueries(SCIFACT_DIR);
const train = readQrels(SCIFACT_DIR, 'train');
const qids = [...train.keys()];
const FOLDS = 5;
const fold = new Map(qids.map((q, i) => [q, i % FOLDS]));
const K1 = (process.env.TUNE_K1 ?? '0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.3,1.4,1.5').split(',').map(Number);
const B = (process.env.TUNE_B ?? '0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75').split(',').map(Number);
const only = process.env.TUNE_VARIANTS?.split(',').map(Number);
console.log(`SciFact train: ${qids.length} queries, ${FOLDS}-fold cross-validation over k1 {${K1.join(', ')}} × b {${B.join(', ')}}`);
let baseline: Map<string, number> | undefined;
for (const [vi, variant] of VARIANTS.entries()) {
  if (only && !only.includes(vi)) continue;
  const index = buildIndex(corpus, variant.analyze);
  const terms = new Map(qids.map((q) => [q, variant.analyze(queries.get(q) ?? '').terms]));
  const grid = K1.flatMap((k1) => B.map((b) => ({
    k1, b, per: new Map(qids.map((q) => [q, ndcg10(train.get(q)!, search(index, terms.get(q)!, k1, b))])),
  })));
  const over = (g: typeof grid[number], qs: readonly string[]) => mean(qs.map((q) => g.per.get(q)!));
  const heldOut = new Map<string, number>();
  for (let f = 0; f < FOLDS; f++) {
    const fit = qids.filter((q) => fold.get(q) !== f);
    const best = grid.reduce((a, g) => (over(g, fit) > over(a, fit) ? g : a));
    for (const q of qids) if (fold.get(q) === f) heldOut.set(q, best.per.get(q)!);
  }
  const cv = mean([...heldOut.values()]);
  const ranked = grid.map((g) => ({ k1: g.k1, b: g.b, ndcg: over(g, qids) })).sort((x, y) => y.ndcg - x.ndcg);
  let versus = '';
  if (vi === 0) baseline = heldOut;
  else if (baseline) {
    const diff = qids.map((q) => heldOut.get(q)! - baseline!.get(q)!);
    const m = mean(diff);
    const se = Math.sqrt(mean(diff.map((d) => (d - m) ** 2)) / diff.length);
    versus = `  | vs analyzer 1: ${m >= 0 ? '+' : ''}${m.toFixed(4)} ± ${se.toFixed(4)} (SE)`;
  }
  console.log(`${vi}. ${variant.name}: cross-validated nDCG@10 ${cv.toFixed(4)}${versus}`);
  console.log(`   all of train, best: ${ranked.slice(0, 3).map((r) => `k1 ${r.k1} b ${r.b} ${r.ndcg.toFixed(4)}`).join(', ')}`);
}
