/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): each list adds 1 / (k + rank) for every
 * chunk it holds, so rankers with incomparable score scales (BM25, cosine) combine on rank alone.
 */
import type { RankedChunk } from './types.ts';

export const DEFAULT_RRF_K = 60;

export interface RrfOptions {
  /** Damping constant; larger values flatten the gap between top and lower ranks. Default 60. */
  k?: number;
  /** At most this many fused hits; all of them when absent. */
  limit?: number;
}

interface Fused {
  hit: RankedChunk;
  score: number;
  bestRank: number;
}

/**
 * Fuses ranked lists into one. A chunk's rank in a list is its position there (1-based), and a
 * chunk repeated within one list counts once, at its first position. Pure and deterministic: ties go
 * to the better single rank, then to the smaller chunk id (by UTF-16 code units). Document id and
 * version come from the chunk's first appearance.
 */
export function fuseRrf(lists: readonly (readonly RankedChunk[])[], options: RrfOptions = {}): RankedChunk[] {
  const k = options.k ?? DEFAULT_RRF_K;
  if (!Number.isFinite(k) || k < 0) throw new RangeError('RRF k must be a finite number ≥ 0');
  const limit = options.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new RangeError('RRF limit must be an integer ≥ 0');

  const fused = new Map<string, Fused>();
  for (const list of lists) {
    const seen = new Set<string>();
    list.forEach((hit, i) => {
      if (seen.has(hit.chunkId)) return;
      seen.add(hit.chunkId);
      const rank = i + 1;
      const entry = fused.get(hit.chunkId);
      if (entry) {
        entry.score += 1 / (k + rank);
        entry.bestRank = Math.min(entry.bestRank, rank);
      } else {
        fused.set(hit.chunkId, { hit, score: 1 / (k + rank), bestRank: rank });
      }
    });
  }
  const ordered = [...fused.values()].sort((a, b) =>
    b.score - a.score || a.bestRank - b.bestRank || (a.hit.chunkId < b.hit.chunkId ? -1 : a.hit.chunkId > b.hit.chunkId ? 1 : 0));
  return ordered.slice(0, limit ?? ordered.length).map((entry, i) => ({
    chunkId: entry.hit.chunkId, documentId: entry.hit.documentId, version: entry.hit.version, score: entry.score, rank: i + 1,
  }));
}
