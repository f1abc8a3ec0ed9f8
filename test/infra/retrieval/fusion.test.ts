import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RRF_K, fuseRrf } from '../../../src/infra/retrieval/fusion.ts';
import type { RankedChunk } from '../../../src/infra/retrieval/types.ts';

const list = (...ids: string[]): RankedChunk[] =>
  ids.map((id, i) => ({ chunkId: id, documentId: `doc-${id}`, version: 1, score: 100 - i, rank: i + 1 }));

describe('fuseRrf', () => {
  it('sums 1 / (k + rank) over the lists, k = 60 by default', () => {
    const fused = fuseRrf([list('a', 'b', 'c'), list('c', 'a')]);
    expect(DEFAULT_RRF_K).toBe(60);
    expect(fused.map((h) => h.chunkId)).toEqual(['a', 'c', 'b']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(fused[2]!.score).toBeCloseTo(1 / 62, 12);
    expect(fused.map((h) => h.rank)).toEqual([1, 2, 3]);
    expect(fused[1]).toMatchObject({ documentId: 'doc-c', version: 1 });
  });

  it('ignores the input scores: only positions count', () => {
    const lexical = list('x', 'y').map((h, i) => ({ ...h, score: i === 0 ? 1e9 : 1e-9 }));
    const vector = list('y', 'x').map((h) => ({ ...h, score: 0.5 }));
    const fused = fuseRrf([lexical, vector]);
    expect(fused[0]!.score).toBe(fused[1]!.score);
  });

  it('uses k and limit from the options', () => {
    const fused = fuseRrf([list('a', 'b', 'c', 'd')], { k: 0, limit: 2 });
    expect(fused.map((h) => [h.chunkId, h.score])).toEqual([['a', 1], ['b', 0.5]]);
    expect(fuseRrf([list('a')], { limit: 0 })).toEqual([]);
  });

  it('breaks ties by the better single rank, then by chunk id', () => {
    // With k = 0, ranks 2 and 6 sum to 1/2 + 1/6 = 2/3, like ranks 3 and 3: 'z' wins on its rank 2.
    const fused = fuseRrf([list('f1', 'z', 'a', 'f2', 'f3', 'f4'), list('g1', 'g2', 'a', 'g3', 'g4', 'z')], { k: 0 });
    const [z, a] = [fused.find((h) => h.chunkId === 'z')!, fused.find((h) => h.chunkId === 'a')!];
    expect(z.score).toBe(a.score);
    expect(z.rank).toBe(a.rank - 1);
    // Same sums and same best rank: the smaller chunk id first.
    expect(fuseRrf([list('q', 'z'), list('p', 'y')]).map((h) => h.chunkId)).toEqual(['p', 'q', 'y', 'z']);
  });

  it('counts a chunk repeated within one list once, at its first position', () => {
    const fused = fuseRrf([list('a', 'a', 'b')]);
    expect(fused.map((h) => [h.chunkId, h.score])).toEqual([['a', 1 / 61], ['b', 1 / 63]]);
  });

  it('handles no lists and empty lists', () => {
    expect(fuseRrf([])).toEqual([]);
    expect(fuseRrf([[], []])).toEqual([]);
    expect(fuseRrf([[], list('a')]).map((h) => h.chunkId)).toEqual(['a']);
  });

  it('refuses a bad k or limit', () => {
    expect(() => fuseRrf([], { k: -1 })).toThrow(RangeError);
    expect(() => fuseRrf([], { k: Number.NaN })).toThrow(RangeError);
    expect(() => fuseRrf([], { limit: 1.5 })).toThrow(RangeError);
  });

  it('is deterministic and independent of the order of the lists (for two lists)', () => {
    const ids = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 7 });
    fc.assert(fc.property(ids, ids, (x, y) => {
      const ab = fuseRrf([list(...x), list(...y)]);
      const ba = fuseRrf([list(...y), list(...x)]);
      expect(ab.map((h) => [h.chunkId, h.score])).toEqual(ba.map((h) => [h.chunkId, h.score]));
      expect(new Set(ab.map((h) => h.chunkId))).toEqual(new Set([...x, ...y]));
    }));
  });
});
