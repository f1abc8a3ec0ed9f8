// Reading a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and scoring a ranking, for
// the retrieval benchmark and the lexical tuning script.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** SCIFACT_DIR, else ../shared/datasets/scifact beside the checkout (or beside its parent, for a worktree). */
export const SCIFACT_DIR = process.env.SCIFACT_DIR ?? ['../../shared/datasets/scifact/', '../../../shared/datasets/scifact/']
  .map((relative) => new URL(relative, import.meta.url).pathname)
  .find((dir) => existsSync(join(dir, 'corpus.jsonl'))) ?? new URL('../../shared/datasets/scifact/', import.meta.url).pathname;

export interface BeirDoc { id: string; title: string; text: string }
/** query id → document id → relevance grade. */
export type Qrels = Map<string, Map<string, number>>;

export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as T);
}

export function readCorpus(dir: string): BeirDoc[] {
  return readJsonl<{ _id: string; title?: string; text?: string }>(join(dir, 'corpus.jsonl'))
    .map((d) => ({ id: String(d._id), title: d.title ?? '', text: d.text ?? '' }));
}

export function readQueries(dir: string): Map<string, string> {
  return new Map(readJsonl<{ _id: string; text: string }>(join(dir, 'queries.jsonl')).map((q) => [String(q._id), q.text]));
}

export function readQrels(dir: string, split: string): Qrels {
  const qrels: Qrels = new Map();
  for (const line of readFileSync(join(dir, 'qrels', `${split}.tsv`), 'utf8').split(/\r?\n/).slice(1)) {
    const [query, doc, score] = line.split('\t');
    if (!query || !doc) continue;
    if (!qrels.has(query)) qrels.set(query, new Map());
    qrels.get(query)!.set(doc, Number(score));
  }
  return qrels;
}

/** nDCG@k as trec_eval computes it (gain = relevance grade, log2 discount), averaged over judged queries. */
export function ndcgAt(k: number, qrels: Qrels, ranked: Map<string, string[]>): number {
  let sum = 0;
  for (const [query, judged] of qrels) {
    const dcg = (ranked.get(query) ?? []).slice(0, k)
      .reduce((acc, doc, i) => acc + (judged.get(doc) ?? 0) / Math.log2(i + 2), 0);
    const ideal = [...judged.values()].sort((a, b) => b - a).slice(0, k)
      .reduce((acc, grade, i) => acc + grade / Math.log2(i + 2), 0);
    sum += ideal > 0 ? dcg / ideal : 0;
  }
  return sum / qrels.size;
}
