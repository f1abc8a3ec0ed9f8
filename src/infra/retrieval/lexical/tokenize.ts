/**
 * Text → index terms for the lexical ranking: Unicode NFKC, lowercase, words of letters, marks and
 * digits (an inner apostrophe kept, a possessive 's dropped), words of one character dropped,
 * Lucene's English stop words removed (EnglishAnalyzer's 33), Porter stems (`stemmer`) for plain a–z
 * words. Pure and deterministic; the same function cuts chunks and queries, so both sides agree on
 * every term.
 *
 * Chosen on SciFact's train split by cross-validation (bench/lexical-tune.ts, docs/retrieval.md):
 * it is the analyzer of a plain BM25 (a token is two or more word characters; Lucene's stop set),
 * where analyzer 1 kept one-character words and removed `stopword`'s 108 English words.
 */
import { stemmer } from 'stemmer';

/**
 * Version of what this file produces. The lexical index stores terms and lengths made by it, so a
 * change here must bump it: the chunks projection is then rebuilt at start (Projection.version).
 */
export const ANALYZER_VERSION = 2;

/**
 * Longer runs are not words (base64, hashes, hostile input) and would not fit a btree index entry:
 * they are dropped, never truncated into a made-up term.
 */
export const MAX_TERM_LENGTH = 64;

/** Lucene's EnglishAnalyzer stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET). */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not',
  'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
const POSSESSIVE = /['’]s$/u;
const APOSTROPHE = /['’]/gu;
const ASCII_WORD = /^[a-z]+$/;

/** The terms of `text` in order (repeats kept). Never throws on a string; non-strings give []. */
export function tokenize(text: string): string[] {
  if (typeof text !== 'string' || text.length === 0) return [];
  const terms: string[] = [];
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    // A run far over the limit cannot become a term: skip it before any per-word work.
    if (match[0].length > MAX_TERM_LENGTH + 2) continue;
    const word = match[0].replace(POSSESSIVE, '');
    if (STOP_WORDS.has(word)) continue;
    const bare = word.replace(APOSTROPHE, '');
    // One character (a, 5, β) is too little to rank by; measured on train, keeping them scored lower.
    if ([...bare].length < 2 || bare.length > MAX_TERM_LENGTH || STOP_WORDS.has(bare)) continue;
    terms.push(ASCII_WORD.test(bare) ? stemmer(bare) : bare);
  }
  return terms;
}

/** Each distinct term of `text` with its count, in order of first appearance, and the term total. */
export function termFrequencies(text: string): { terms: Map<string, number>; length: number } {
  const terms = new Map<string, number>();
  const all = tokenize(text);
  for (const term of all) terms.set(term, (terms.get(term) ?? 0) + 1);
  return { terms, length: all.length };
}
