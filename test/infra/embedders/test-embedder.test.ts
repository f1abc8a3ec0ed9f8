import { describe, expect, it } from 'vitest';
import { hashedBagOfWords, TEST_EMBEDDER_MODEL_ID, TestEmbedder } from '../../support/test-embedder.ts';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);

describe('the test embedder (tests and benchmarks only)', () => {
  it('says it is a test embedder and gives deterministic unit vectors of its dimension', async () => {
    const embedder = new TestEmbedder();
    expect(embedder.modelId).toBe(TEST_EMBEDDER_MODEL_ID);
    expect(embedder.modelId).toMatch(/^test:/);
    expect(await embedder.dimensions()).toBe(256);
    const [a, again, empty] = await embedder.embed(['Cats chase mice', 'Cats chase mice', '']);
    expect(Array.from(a!)).toEqual(Array.from(again!));
    for (const vector of [a!, empty!]) {
      expect(vector).toHaveLength(256);
      expect(cosine(vector, vector)).toBeCloseTo(1, 5);
    }
  });

  it('puts texts that share stemmed words nearer than texts that share none', () => {
    const query = hashedBagOfWords('running cats', 256);
    const related = hashedBagOfWords('The cat runs', 256);
    const unrelated = hashedBagOfWords('quarterly tax filing', 256);
    expect(cosine(query, related)).toBeGreaterThan(0.9);
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated));
  });
});
