// stories260K is a story model, not a sentence-embedding model: these tests prove the adapter loads a
// GGUF file and returns well-formed, deterministic vectors, not that they mean anything.
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaCppEmbedder } from '../../../src/infra/embedders/llama-cpp-embedder.ts';
import { EmbedderError } from '../../../src/infra/embedders/port.ts';

const MODEL = '/work/shared/models/stories260K.gguf';
const skip = existsSync(MODEL) ? undefined : `LlamaCppEmbedder: skipped, ${MODEL} is absent`;
if (skip) console.warn(skip);

describe.skipIf(skip)('LlamaCppEmbedder on stories260K.gguf', () => {
  let embedder: LlamaCppEmbedder;
  beforeAll(async () => {
    embedder = await LlamaCppEmbedder.open({ modelPath: MODEL, threads: 1, contextSize: 128 });
  }, 60_000);
  afterAll(async () => embedder?.close());

  it('names the file and its hash in modelId and reports the model’s vector size', async () => {
    expect(embedder.modelId).toMatch(/^gguf:stories260K\.gguf@[0-9a-f]{12}$/);
    const dimensions = await embedder.dimensions();
    expect(dimensions).toBeGreaterThan(0);
    const [vector] = await embedder.embed(['Once upon a time there was a cat.']);
    expect(vector).toBeInstanceOf(Float32Array);
    expect(vector).toHaveLength(dimensions);
    expect(vector!.every(Number.isFinite)).toBe(true);
    expect(vector!.some((value) => value !== 0)).toBe(true);
  });

  it('is deterministic and embeds a batch in order', async () => {
    const texts = ['The dog ran to the park.', 'Lily liked the red ball.', 'The sun was warm.'];
    const batch = await embedder.embed(texts);
    const oneByOne = [];
    for (const text of texts) oneByOne.push(...await embedder.embed([text]));
    expect(batch.map((v) => Array.from(v))).toEqual(oneByOne.map((v) => Array.from(v)));
    expect(Array.from(batch[0]!)).not.toEqual(Array.from(batch[1]!));
    expect(await embedder.embed([])).toEqual([]);
  });

  it('refuses a text longer than the context as too-large, and stays usable', async () => {
    const error = await embedder.embed(['word '.repeat(500)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbedderError);
    expect((error as EmbedderError).code).toBe('too-large');
    expect(await embedder.embed(['Still here.'])).toHaveLength(1);
  });

  it('stops before the next text when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(embedder.embed(['a', 'b'], controller.signal)).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('names the same bytes the same wherever they lie, and refuses a broken or missing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evident-gguf-'));
    try {
      await copyFile(MODEL, join(dir, 'stories260K.gguf'));
      const copy = await LlamaCppEmbedder.open({ modelPath: join(dir, 'stories260K.gguf'), threads: 1, contextSize: 128 });
      expect(copy.modelId).toBe(embedder.modelId);
      await copy.close();
      await writeFile(join(dir, 'broken.gguf'), 'not a gguf file');
      await expect(LlamaCppEmbedder.open({ modelPath: join(dir, 'broken.gguf'), threads: 1 })).rejects.toMatchObject({ code: 'unavailable' });
      await expect(LlamaCppEmbedder.open({ modelPath: join(dir, 'missing.gguf') })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/cannot be read/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
