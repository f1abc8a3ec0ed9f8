import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleEmbedder, parseRetryAfter } from '../../../src/infra/embedders/openai-compatible-embedder.ts';
import { EmbedderError } from '../../../src/infra/embedders/port.ts';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../../support/fake-embeddings-server.ts';
import { hashedBagOfWords } from '../../support/test-embedder.ts';

const API_KEY = 'sk-test-secret-key-0123456789';
const TEXTS = ['the cat sat on the mat', 'dogs bark at night', 'rain falls on the plain', 'a fourth text'];

async function failure(promise: Promise<unknown>): Promise<EmbedderError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(EmbedderError);
  const message = (error as Error).message;
  expect(message).not.toContain(API_KEY);
  for (const text of TEXTS) expect(message).not.toContain(text);
  return error as EmbedderError;
}

describe('OpenAiCompatibleEmbedder against a loopback embeddings server', () => {
  let server: FakeEmbeddingsServer;
  const embedder = (model: string, options: Partial<ConstructorParameters<typeof OpenAiCompatibleEmbedder>[0]> = {}) =>
    new OpenAiCompatibleEmbedder({ baseUrl: server.url, model, apiKey: API_KEY, ...options });

  beforeAll(async () => {
    server = await startFakeEmbeddingsServer({ requireApiKey: API_KEY });
  });
  afterAll(async () => server?.close());

  it('embeds texts in order with the model and key it was given, one vector per text', async () => {
    const before = server.requests.length;
    const subject = embedder('fake-embed');
    expect(subject.modelId).toBe('openai:fake-embed');
    const vectors = await subject.embed(TEXTS);
    expect(vectors).toHaveLength(TEXTS.length);
    vectors.forEach((vector, i) => {
      expect(vector).toBeInstanceOf(Float32Array);
      expect(Array.from(vector)).toEqual(Array.from(hashedBagOfWords(TEXTS[i]!, 8)));
    });
    const [request] = server.requests.slice(before);
    expect(request!.body).toEqual({ model: 'fake-embed', input: TEXTS, encoding_format: 'float' });
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(await subject.dimensions()).toBe(8);
    expect(server.requests.length).toBe(before + 1); // dimensions learnt from the answer, not asked again
  });

  it('sends batches of batchSize and keeps the order across them', async () => {
    const before = server.requests.length;
    const texts = Array.from({ length: 10 }, (_, i) => `text number ${i} word${i}`);
    const vectors = await embedder('fake-embed-16', { batchSize: 4, provider: 'ollama' }).embed(texts);
    const sent = server.requests.slice(before).map((r) => (r.body as { input: string[] }).input);
    expect(sent).toEqual([texts.slice(0, 4), texts.slice(4, 8), texts.slice(8)]);
    expect(vectors.map((vector) => Array.from(vector))).toEqual(texts.map((text) => Array.from(hashedBagOfWords(text, 16))));
  });

  it('sends nothing for no texts', async () => {
    const before = server.requests.length;
    expect(await embedder('fake-embed').embed([])).toEqual([]);
    expect(server.requests.length).toBe(before);
  });

  it('places vectors by their index when the server answers out of order', async () => {
    const vectors = await embedder('fake-embed-shuffled').embed(TEXTS);
    expect(vectors.map((vector) => Array.from(vector))).toEqual(TEXTS.map((text) => Array.from(hashedBagOfWords(text, 8))));
  });

  it('asks for the dimensions once when not configured, and checks them when configured', async () => {
    const subject = embedder('fake-embed-12', { provider: 'vllm' });
    const before = server.requests.length;
    expect(await Promise.all([subject.dimensions(), subject.dimensions()])).toEqual([12, 12]);
    expect(server.requests.length).toBe(before + 1);
    expect((server.requests.at(-1)!.body as { input: string[] }).input).toEqual(['dimension probe']);
    expect(await embedder('fake-embed-12', { dimensions: 12 }).dimensions()).toBe(12);
    expect(server.requests.length).toBe(before + 1);
    const wrong = await failure(embedder('fake-embed-12', { dimensions: 8 }).embed(TEXTS));
    expect(wrong.code).toBe('bad-response');
    expect(wrong.message).toMatch(/12 dimensions, expected 8/);
  });

  it('reports a 429 as rate-limited with the Retry-After', async () => {
    const error = await failure(embedder('fake-embed-429').embed(TEXTS));
    expect(error).toMatchObject({ code: 'rate-limited', retryAfterMs: 7000 });
  });

  it('reports a 5xx as unavailable without echoing the server’s body (which quotes the inputs)', async () => {
    const error = await failure(embedder('fake-embed-500').embed(TEXTS));
    expect(error.code).toBe('unavailable');
    expect(error.message).toMatch(/HTTP 500/);
  });

  it.each([
    ['fake-embed-malformed', /malformed JSON/],
    ['fake-embed-short', /returned 3 vectors for 4 texts/],
    ['fake-embed-wrong-dim', /7 dimensions, expected 8/],
    ['fake-embed-strings', /finite numbers/],
  ])('reports %s as bad-response', async (model, message) => {
    const error = await failure(embedder(model).embed(TEXTS));
    expect(error.code).toBe('bad-response');
    expect(error.message).toMatch(message);
  });

  it('reports an input over the model’s context as too-large, and refuses one over maxInputChars before sending', async () => {
    expect((await failure(embedder('fake-embed-too-long').embed(TEXTS))).code).toBe('too-large');
    const before = server.requests.length;
    const error = await failure(embedder('fake-embed', { maxInputChars: 10 }).embed(TEXTS));
    expect(error).toMatchObject({ code: 'too-large', message: expect.stringMatching(/text 0 has 22 characters/) });
    expect(server.requests.length).toBe(before);
  });

  it('times out a request that never answers', async () => {
    const error = await failure(embedder('fake-embed-hang', { timeoutMs: 200 }).embed(TEXTS));
    expect(error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/timed out after 200 ms/) });
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const seen = server.requests.length;
    const pending = embedder('fake-embed-hang').embed(TEXTS, controller.signal);
    await expect.poll(() => server.requests.length, { timeout: 10_000 }).toBe(seen + 1);
    controller.abort();
    expect((await failure(pending)).code).toBe('cancelled');
    const aborted = new AbortController();
    aborted.abort();
    expect((await failure(embedder('fake-embed').embed(TEXTS, aborted.signal))).code).toBe('cancelled');
  });

  it('reports a refused key, an unknown model and an unreachable server as unavailable, never quoting the key', async () => {
    const refused = await failure(new OpenAiCompatibleEmbedder({ baseUrl: server.url, model: 'fake-embed', apiKey: `${API_KEY}-wrong` }).embed(TEXTS));
    expect(refused).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/HTTP 401/) });
    expect(refused.message).not.toContain('wrong');
    expect((await failure(embedder('no-such-model').embed(TEXTS))).message).toMatch(/not found \(HTTP 404\)/);
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const unreachable = await failure(new OpenAiCompatibleEmbedder({ baseUrl: `http://127.0.0.1:${closedPort}/v1`, model: 'm', apiKey: API_KEY }).embed(TEXTS));
    expect(unreachable).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/unreachable \(ECONNREFUSED\)/) });
  });

  it('refuses a configuration that cannot work', () => {
    expect(() => new OpenAiCompatibleEmbedder({ baseUrl: 'not a url', model: 'm' })).toThrow(/not a valid URL/);
    expect(() => new OpenAiCompatibleEmbedder({ baseUrl: 'file:///etc', model: 'm' })).toThrow(/http\(s\)/);
    expect(() => new OpenAiCompatibleEmbedder({ baseUrl: 'http://x/v1', model: ' ' })).toThrow(/model name is empty/);
    expect(() => new OpenAiCompatibleEmbedder({ baseUrl: 'http://x/v1', model: 'm', batchSize: 0 })).toThrow(/batchSize/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
