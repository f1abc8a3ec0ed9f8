import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spaceFor, VectorIndexError, type VectorIndex, type VectorItem, type VectorSpace } from '../../src/infra/vector-index/port.ts';

export interface VectorIndexFixture {
  index: VectorIndex;
  dispose(): Promise<void>;
}

const v = (...values: number[]) => Float32Array.from(values);

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

async function rejection(promise: Promise<unknown>): Promise<VectorIndexError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(VectorIndexError);
  return error as VectorIndexError;
}

export interface VectorIndexContractOptions {
  /** The adapter offers hybridSearch (keyword ranking of the items' text fused with vector similarity). */
  hybrid?: boolean;
}

/** One contract for every VectorIndex adapter. Each test uses owners of its own, so tests never see each other's rows. */
export function vectorIndexContract(name: string, open: () => Promise<VectorIndexFixture>, options: VectorIndexContractOptions = {}): void {
  const hybrid = options.hybrid ?? false;
  describe(`vector index contract: ${name}`, () => {
    let fixture: VectorIndexFixture;
    let index: VectorIndex;
    // Two models side by side, as during a model change; a suffix keeps reruns against a shared server apart.
    const run = randomUUID().slice(0, 8);
    const three = spaceFor(`contract:three-${run}`, 3);
    const four = spaceFor(`contract:four-${run}`, 4);

    const item = (ownerId: string, chunkId: string, vector: Float32Array, documentId = 'doc-1', version = 1): VectorItem =>
      ({ chunkId, documentId, version, ownerId, vector });
    const withText = (text: string, base: VectorItem): VectorItem => ({ ...base, text });

    beforeAll(async () => {
      fixture = await open();
      index = fixture.index;
      await index.ensureSpace(three);
      await index.ensureSpace(four);
      await index.ensureSpace(three); // idempotent
    }, 60_000);
    afterAll(async () => {
      if (!fixture) return;
      await index.dropSpace(three).catch(() => {});
      await index.dropSpace(four).catch(() => {});
      await fixture.dispose();
    });

    it('finds the nearest neighbours of a small hand-made set, best first, with cosine similarity as score', async () => {
      const owner = randomUUID();
      const set = {
        east: v(1, 0, 0), eastNorth: v(0.9, 0.3, 0), north: v(0, 1, 0), up: v(0, 0, 1), west: v(-1, 0, 0), eastLong: v(5, 0.4, 0.1),
      };
      await index.upsert(three, Object.entries(set).map(([chunkId, vector]) => item(owner, chunkId, vector)));
      const query = v(1, 0.05, 0);
      const hits = await index.search(three, query, { ownerId: owner }, 4);
      const expected = Object.entries(set).map(([chunkId, vector]) => ({ chunkId, score: cosine(query, vector) }))
        .sort((a, b) => b.score - a.score).slice(0, 4);
      expect(hits.map((hit) => hit.chunkId)).toEqual(expected.map((e) => e.chunkId));
      expect(hits.map((hit) => hit.rank)).toEqual([1, 2, 3, 4]);
      hits.forEach((hit, i) => {
        expect(hit.score).toBeCloseTo(expected[i]!.score, 4);
        expect(hit).toMatchObject({ documentId: 'doc-1', version: 1 });
      });
      const opposite = await index.search(three, v(-1, 0, 0), { ownerId: owner }, 1);
      expect(opposite).toEqual([expect.objectContaining({ chunkId: 'west', rank: 1 })]);
      expect(opposite[0]!.score).toBeCloseTo(1, 4);
      expect(await index.search(three, query, { ownerId: owner }, 100)).toHaveLength(6);
      expect(await index.search(three, query, { ownerId: owner }, 0)).toEqual([]);
    });

    it('returns only the owner’s chunks, even when other owners hold every nearer vector', async () => {
      const [mine, theirs] = [randomUUID(), randomUUID()];
      const crowd = Array.from({ length: 300 }, (_, i) => item(theirs, `crowd-${run}-${i}`, v(1, 0.001 * i, 0)));
      await index.upsert(three, crowd);
      await index.upsert(three, [item(mine, `mine-${run}-a`, v(0, 1, 0)), item(mine, `mine-${run}-b`, v(0, 1, 1)), item(mine, `mine-${run}-c`, v(0, 0, 1))]);
      const hits = await index.search(three, v(1, 0, 0), { ownerId: mine }, 3);
      expect(hits.map((hit) => hit.chunkId).sort()).toEqual([`mine-${run}-a`, `mine-${run}-b`, `mine-${run}-c`]);
      const theirHits = await index.search(three, v(0, 0, 1), { ownerId: theirs }, 5);
      expect(theirHits).toHaveLength(5);
      expect(theirHits.every((hit) => hit.chunkId.startsWith('crowd-'))).toBe(true);
      expect(await index.search(three, v(1, 0, 0), { ownerId: randomUUID() }, 5)).toEqual([]);
      expect(await index.count(three, { ownerId: mine })).toBe(3);
      expect(await index.count(three, { ownerId: theirs })).toBe(300);
    });

    it('filters by document; an empty document list matches nothing', async () => {
      const owner = randomUUID();
      await index.upsert(three, [
        item(owner, 'a1', v(1, 0, 0), 'doc-a'), item(owner, 'a2', v(1, 1, 0), 'doc-a'),
        item(owner, 'b1', v(1, 0.1, 0), 'doc-b'), item(owner, 'c1', v(1, 0.2, 0), 'doc-c'),
      ]);
      const query = v(1, 0, 0);
      const onlyA = await index.search(three, query, { ownerId: owner, documentIds: ['doc-a'] }, 10);
      expect(onlyA.map((hit) => hit.chunkId)).toEqual(['a1', 'a2']);
      const bAndC = await index.search(three, query, { ownerId: owner, documentIds: ['doc-b', 'doc-c', 'doc-b'] }, 10);
      expect(bAndC.map((hit) => hit.chunkId)).toEqual(['b1', 'c1']);
      expect(await index.search(three, query, { ownerId: owner, documentIds: [] }, 10)).toEqual([]);
      expect(await index.search(three, query, { ownerId: owner, documentIds: ['no-such-doc'] }, 10)).toEqual([]);
      expect(await index.count(three, { ownerId: owner, documentId: 'doc-a' })).toBe(2);
    });

    it('upserts idempotently by chunkId: a repeat changes nothing, a new vector or version replaces the old', async () => {
      const owner = randomUUID();
      const items = [withText('the first chunk', item(owner, 'x', v(1, 0, 0))), item(owner, 'y', v(0, 1, 0))];
      await index.upsert(three, items);
      await index.upsert(three, items);
      expect(await index.count(three, { ownerId: owner })).toBe(2);
      await index.upsert(three, [item(owner, 'x', v(0, 0, 1), 'doc-1', 2), item(owner, 'x', v(0, 0, 1), 'doc-1', 2)]);
      expect(await index.count(three, { ownerId: owner })).toBe(2);
      const [top] = await index.search(three, v(0, 0, 1), { ownerId: owner }, 1);
      expect(top).toMatchObject({ chunkId: 'x', version: 2 });
      expect(top!.score).toBeCloseTo(1, 4);
      await index.upsert(three, []);
      expect(await index.count(three, { ownerId: owner })).toBe(2);
    });

    it('refuses a wrong dimension, a zero or non-finite vector, or a bad id, and writes nothing of the batch', async () => {
      const owner = randomUUID();
      const good = item(owner, 'good', v(1, 0, 0));
      const wrongDimension = await rejection(index.upsert(three, [good, item(owner, 'bad', v(1, 0, 0, 0))]));
      expect(wrongDimension.code).toBe('invalid-input');
      expect(wrongDimension.message).toMatch(/4 dimensions.*space has 3/);
      expect((await rejection(index.upsert(three, [good, item(owner, 'zero', v(0, 0, 0))]))).code).toBe('invalid-input');
      expect((await rejection(index.upsert(three, [good, item(owner, 'nan', v(Number.NaN, 0, 1))]))).code).toBe('invalid-input');
      expect((await rejection(index.upsert(three, [good, item(owner, '', v(0, 1, 0))]))).code).toBe('invalid-input');
      expect((await rejection(index.upsert(three, [{ ...good, version: 0 }]))).code).toBe('invalid-input');
      expect((await rejection(index.upsert(three, [good, withText('nul \0 inside', item(owner, 'nul', v(0, 1, 0)))]))).code).toBe('invalid-input');
      expect(await index.count(three, { ownerId: owner })).toBe(0);
      expect((await rejection(index.search(three, v(1, 0), { ownerId: owner }, 5))).code).toBe('invalid-input');
      expect((await rejection(index.search(three, v(1, 0, 0), { ownerId: '' }, 5))).code).toBe('invalid-input');
      expect((await rejection(index.search(three, v(1, 0, 0), { ownerId: owner }, -1))).code).toBe('invalid-input');
      const forged: VectorSpace = { ...three, id: 'users; DROP TABLE users' };
      expect((await rejection(index.upsert(forged, [good]))).code).toBe('invalid-input');
    });

    it('never moves a chunk to another owner', async () => {
      const [owner, other] = [randomUUID(), randomUUID()];
      await index.upsert(three, [item(owner, `shared-${run}`, v(1, 0, 0))]);
      // Refused (one table per space) or kept apart (a tenant per owner): either way the owner keeps it.
      await index.upsert(three, [item(other, `shared-${run}`, v(0, 1, 0), 'doc-other')]).catch((error: unknown) => {
        expect(error).toBeInstanceOf(VectorIndexError);
        expect((error as VectorIndexError).code).toBe('owner-conflict');
      });
      const [hit] = await index.search(three, v(0, 1, 0), { ownerId: owner }, 1);
      expect(hit).toMatchObject({ chunkId: `shared-${run}`, documentId: 'doc-1' });
      expect(hit!.score).toBeCloseTo(0, 4);
    });

    it('deleteDocument removes the document from every space and leaves count 0 in each', async () => {
      const owner = randomUUID();
      await index.upsert(three, [item(owner, 'd1', v(1, 0, 0), 'gone'), item(owner, 'd2', v(0, 1, 0), 'gone'), item(owner, 'k1', v(0, 0, 1), 'kept')]);
      await index.upsert(four, [item(owner, 'd1', v(1, 0, 0, 0), 'gone'), item(owner, 'k1', v(0, 0, 0, 1), 'kept')]);
      expect(await index.deleteDocument(owner, 'gone')).toBe(3);
      expect(await index.count(three, { documentId: 'gone', ownerId: owner })).toBe(0);
      expect(await index.count(four, { documentId: 'gone', ownerId: owner })).toBe(0);
      expect(await index.count(three, { ownerId: owner })).toBe(1);
      expect(await index.count(four, { ownerId: owner })).toBe(1);
      expect(await index.search(three, v(1, 0, 0), { ownerId: owner }, 10)).toEqual([expect.objectContaining({ chunkId: 'k1' })]);
      expect(await index.deleteDocument(owner, 'gone')).toBe(0);
      expect(await index.deleteDocument(randomUUID(), 'kept')).toBe(0); // another owner cannot delete it
      expect(await index.count(three, { ownerId: owner })).toBe(1);
    });

    it('deleteDocumentVersion removes one version and keeps the others', async () => {
      const owner = randomUUID();
      await index.upsert(three, [item(owner, 'v1a', v(1, 0, 0), 'doc', 1), item(owner, 'v1b', v(0, 1, 0), 'doc', 1), item(owner, 'v2a', v(1, 0, 0), 'doc', 2)]);
      await index.upsert(four, [item(owner, 'v1a', v(1, 0, 0, 0), 'doc', 1)]);
      expect(await index.deleteDocumentVersion(owner, 'doc', 1)).toBe(3);
      const hits = await index.search(three, v(1, 0, 0), { ownerId: owner }, 10);
      expect(hits.map((hit) => [hit.chunkId, hit.version])).toEqual([['v2a', 2]]);
      expect(await index.count(four, { ownerId: owner })).toBe(0);
    });

    it('deleteOwner removes the owner from every space and nobody else', async () => {
      const [owner, other] = [randomUUID(), randomUUID()];
      await index.upsert(three, [item(owner, 'o1', v(1, 0, 0), 'a'), item(owner, 'o2', v(0, 1, 0), 'b'), item(other, 'p1', v(1, 0, 0))]);
      await index.upsert(four, [item(owner, 'o1', v(1, 0, 0, 0), 'a')]);
      expect(await index.deleteOwner(owner)).toBe(3);
      expect(await index.count(three, { ownerId: owner })).toBe(0);
      expect(await index.count(four, { ownerId: owner })).toBe(0);
      expect(await index.search(three, v(1, 0, 0), { ownerId: owner }, 10)).toEqual([]);
      expect(await index.count(three, { ownerId: other })).toBe(1);
      expect(await index.deleteOwner(owner)).toBe(0);
    });

    it('keeps two spaces side by side independent', async () => {
      const owner = randomUUID();
      await index.upsert(three, [item(owner, 'same-id', v(1, 0, 0), 'doc-3')]);
      await index.upsert(four, [item(owner, 'same-id', v(0, 0, 0, 1), 'doc-4'), item(owner, 'only-four', v(0, 0, 1, 1), 'doc-4')]);
      expect(await index.count(three, { ownerId: owner })).toBe(1);
      expect(await index.count(four, { ownerId: owner })).toBe(2);
      expect((await index.search(three, v(1, 0, 0), { ownerId: owner }, 10)).map((hit) => [hit.chunkId, hit.documentId])).toEqual([['same-id', 'doc-3']]);
      const inFour = await index.search(four, v(0, 0, 0, 1), { ownerId: owner }, 10);
      expect(inFour.map((hit) => [hit.chunkId, hit.documentId])).toEqual([['same-id', 'doc-4'], ['only-four', 'doc-4']]);
      const listed = await index.spaces();
      expect(listed).toEqual(expect.arrayContaining([three, four]));
    });

    it('dropSpace removes one space and its vectors, leaving the others; an unknown space is refused', async () => {
      const owner = randomUUID();
      const doomed = spaceFor(`contract:doomed-${run}`, 3);
      await index.ensureSpace(doomed);
      await index.upsert(doomed, [item(owner, 'z', v(1, 0, 0))]);
      await index.upsert(three, [item(owner, 'z', v(1, 0, 0))]);
      expect(await index.spaces()).toContainEqual(doomed);
      await index.dropSpace(doomed);
      expect(await index.spaces()).not.toContainEqual(doomed);
      expect(await index.spaces()).toContainEqual(three);
      expect(await index.count(three, { ownerId: owner })).toBe(1);
      expect((await rejection(index.search(doomed, v(1, 0, 0), { ownerId: owner }, 1))).code).toBe('unknown-space');
      expect((await rejection(index.upsert(doomed, [item(owner, 'z', v(1, 0, 0))]))).code).toBe('unknown-space');
      expect(await index.deleteDocument(owner, 'doc-1')).toBe(1); // a dropped space is no longer visited
      await index.ensureSpace(doomed);
      expect(await index.count(doomed)).toBe(0);
      await index.dropSpace(doomed);
      await index.dropSpace(doomed); // dropping twice is harmless
    });

    it(`says whether it offers hybrid queries (${hybrid ? 'it does' : 'it does not'})`, () => {
      expect(index.supportsHybrid).toBe(hybrid);
      expect(typeof index.hybridSearch).toBe(hybrid ? 'function' : 'undefined');
    });

    describe.runIf(hybrid)('hybrid queries', () => {
      const hybridSearch = (...args: Parameters<NonNullable<VectorIndex['hybridSearch']>>) => index.hybridSearch!(...args);

      it('fuses a keyword ranking of the text with vector similarity: a chunk matching both comes first, word-only and vector-only matches come back', async () => {
        const owner = randomUUID();
        await index.upsert(three, [
          withText('the comet tail glows in the night sky', item(owner, 'both', v(1, 0, 0))),
          withText('a comet tail seen from the harbour wall', item(owner, 'words', v(0, 0, 1))),
          withText('grey seals sleep on the warm rocks', item(owner, 'vector', v(0.95, 0.3, 0))),
          withText('bread rises slowly in a warm oven', item(owner, 'neither', v(-1, 0, 0))),
          item(owner, 'silent', v(0.9, 0.1, 0.1)), // no text: only the vector side can find it
        ]);
        const hits = await hybridSearch(three, 'comet tail', v(1, 0, 0), { ownerId: owner }, 10);
        const ids = hits.map((hit) => hit.chunkId);
        expect(ids[0]).toBe('both');
        expect(ids).toEqual(expect.arrayContaining(['words', 'vector', 'silent']));
        // 'words' is near the top of the keyword side and 4th of 5 by vector; 'neither' is last by vector only.
        if (ids.includes('neither')) expect(ids.indexOf('words')).toBeLessThan(ids.indexOf('neither'));
        expect(hits.map((hit) => hit.rank)).toEqual(hits.map((_, i) => i + 1));
        hits.slice(1).forEach((hit, i) => expect(hit.score).toBeLessThanOrEqual(hits[i]!.score));
        expect(hits[0]).toMatchObject({ documentId: 'doc-1', version: 1 });
        expect(await hybridSearch(three, 'comet tail', v(1, 0, 0), { ownerId: owner }, 2)).toHaveLength(2);
        expect(await hybridSearch(three, 'comet tail', v(1, 0, 0), { ownerId: owner }, 0)).toEqual([]);
      });

      it('returns only the owner’s chunks, filtered by document; an empty document list matches nothing', async () => {
        const [mine, theirs] = [randomUUID(), randomUUID()];
        await index.upsert(three, [withText('lighthouse keeper logbook', item(theirs, `their-${run}`, v(1, 0, 0), 'doc-t'))]);
        await index.upsert(three, [
          withText('lighthouse lamp maintenance', item(mine, 'm-a', v(0, 1, 0), 'doc-a')),
          withText('keeper of the lighthouse', item(mine, 'm-b', v(0, 0, 1), 'doc-b')),
        ]);
        const all = await hybridSearch(three, 'lighthouse keeper logbook', v(1, 0, 0), { ownerId: mine }, 10);
        expect(all.map((hit) => hit.chunkId).sort()).toEqual(['m-a', 'm-b']);
        const onlyB = await hybridSearch(three, 'lighthouse', v(1, 0, 0), { ownerId: mine, documentIds: ['doc-b'] }, 10);
        expect(onlyB.map((hit) => [hit.chunkId, hit.documentId])).toEqual([['m-b', 'doc-b']]);
        expect(await hybridSearch(three, 'lighthouse', v(1, 0, 0), { ownerId: mine, documentIds: [] }, 10)).toEqual([]);
        expect(await hybridSearch(three, 'lighthouse', v(1, 0, 0), { ownerId: randomUUID() }, 10)).toEqual([]);
        const theirHits = await hybridSearch(three, 'lighthouse', v(0, 1, 0), { ownerId: theirs }, 10);
        expect(theirHits.map((hit) => hit.chunkId)).toEqual([`their-${run}`]);
      });

      it('forgets a deleted document’s and an erased owner’s text and vectors', async () => {
        const owner = randomUUID();
        await index.upsert(three, [
          withText('volcanic ash cloud over the island', item(owner, 'ash', v(1, 0, 0), 'gone')),
          withText('tide tables for the island ferry', item(owner, 'tide', v(0, 1, 0), 'kept')),
        ]);
        expect((await hybridSearch(three, 'volcanic ash', v(1, 0, 0), { ownerId: owner }, 10))[0]?.chunkId).toBe('ash');
        expect(await index.deleteDocument(owner, 'gone')).toBe(1);
        expect((await hybridSearch(three, 'volcanic ash', v(1, 0, 0), { ownerId: owner }, 10)).map((hit) => hit.chunkId)).toEqual(['tide']);
        expect(await index.deleteOwner(owner)).toBe(1);
        expect(await hybridSearch(three, 'tide tables', v(0, 1, 0), { ownerId: owner }, 10)).toEqual([]);
      });

      it('takes a newer text and version on upsert by chunkId', async () => {
        const owner = randomUUID();
        await index.upsert(three, [withText('orchard apples in autumn', item(owner, 'c', v(1, 0, 0), 'doc', 1)), withText('pears', item(owner, 'other', v(0, 1, 0), 'doc', 1))]);
        await index.upsert(three, [withText('glacier ice cores', item(owner, 'c', v(0, 0, 1), 'doc', 2))]);
        const hits = await hybridSearch(three, 'glacier ice', v(0, 0, 1), { ownerId: owner }, 10);
        expect(hits[0]).toMatchObject({ chunkId: 'c', version: 2 });
        expect(await index.count(three, { ownerId: owner })).toBe(2);
      });

      it('refuses a wrong dimension, a NUL in the text or a bad owner, and an unknown space', async () => {
        const owner = randomUUID();
        expect((await rejection(hybridSearch(three, 'words', v(1, 0), { ownerId: owner }, 5))).code).toBe('invalid-input');
        expect((await rejection(hybridSearch(three, 'nul \0', v(1, 0, 0), { ownerId: owner }, 5))).code).toBe('invalid-input');
        expect((await rejection(hybridSearch(three, 'words', v(1, 0, 0), { ownerId: '' }, 5))).code).toBe('invalid-input');
        const never = spaceFor(`contract:never-${run}`, 3);
        expect((await rejection(hybridSearch(never, 'words', v(1, 0, 0), { ownerId: owner }, 5))).code).toBe('unknown-space');
      });
    });
  });
}
