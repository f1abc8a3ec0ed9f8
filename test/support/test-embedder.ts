// A TEST embedder: a hashed bag of stemmed words, L2-normalised. Deterministic, offline and fast, so
// tests and benchmarks can fill vector indexes with vectors whose nearness means shared words. It is
// not semantic search and the product never uses it (it lives under test/ for that reason).
import { stemmer } from 'stemmer';
import type { Embedder } from '../../src/infra/embedders/port.ts';

export const TEST_EMBEDDER_MODEL_ID = 'test:hashed-bow-256';

// A short English stop list (the `stopword` package has no type declarations in this project).
const STOP_WORDS = new Set(('a an and are as at be but by for from has have he her his i in is it its of on or our she '
  + 'that the their them they this to was we were what when where which who will with you your not no do does did '
  + 'been being than then there these those so such can could would should may might also into over under about').split(' '));

/** Words of a text, lower-cased, stop words removed, Porter-stemmed. */
export function stemmedWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => !STOP_WORDS.has(word)).map((word) => stemmer(word));
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One vector: each stem adds ±1 at a hashed position (the sign from another bit, to spread collisions). */
export function hashedBagOfWords(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  const words = stemmedWords(text);
  // A text with no words still gets a unit vector (cosine needs a non-zero one); all such texts meet there.
  for (const word of words.length > 0 ? words : ['\u2205']) {
    const hash = fnv1a(word);
    vector[hash % dimensions]! += (hash & 0x80000000) === 0 ? 1 : -1;
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    vector[fnv1a('\u2205') % dimensions] = 1; // every word cancelled out
    return vector;
  }
  for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}

export class TestEmbedder implements Embedder {
  readonly modelId: string;
  readonly #dimensions: number;

  constructor(dimensions = 256) {
    this.#dimensions = dimensions;
    this.modelId = dimensions === 256 ? TEST_EMBEDDER_MODEL_ID : `test:hashed-bow-${dimensions}`;
  }

  async dimensions(): Promise<number> {
    return this.#dimensions;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    return texts.map((text) => hashedBagOfWords(text, this.#dimensions));
  }
}
