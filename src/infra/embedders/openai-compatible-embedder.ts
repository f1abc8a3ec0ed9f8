// Embedder for the OpenAI embeddings wire protocol (`POST {baseUrl}/embeddings`), which OpenAI,
// Ollama, vLLM, LM Studio and the llama.cpp server speak. Texts go in batches of `batchSize`; each
// request has a timeout. Nothing is retried here: a rate limit comes back as `rate-limited` with the
// server's Retry-After, for the caller (the ingestion reactor) to schedule. Error messages carry
// status codes and counts only — never the texts, the API key, or the server's error text (which
// may quote either).
import { EmbedderError, type Embedder } from './port.ts';

export interface OpenAiCompatibleEmbedderOptions {
  /** The URL up to and including /v1, e.g. http://127.0.0.1:11434/v1. */
  baseUrl: string;
  /** The provider's model name, e.g. 'text-embedding-3-small' or 'nomic-embed-text'. */
  model: string;
  apiKey?: string;
  /** First part of modelId, default 'openai': modelId is `${provider}:${model}`. */
  provider?: string;
  /** Expected vector length; when unset, learnt from the first answer (dimensions() asks once). */
  dimensions?: number;
  /** Texts per request, default 64. */
  batchSize?: number;
  /** Time allowed for one request, answer included. Default 60000. */
  timeoutMs?: number;
  /** Longest text accepted, in characters; longer ones fail `too-large` before anything is sent. */
  maxInputChars?: number;
}

/** Server error bodies that mean "this input is too long for the model" (OpenAI, vLLM, Ollama wording). */
const TOO_LONG = /maximum context length|context length|too many tokens|too long|exceeds the/i;

export class OpenAiCompatibleEmbedder implements Embedder {
  readonly modelId: string;
  readonly #url: string;
  readonly #model: string;
  readonly #apiKey: string | undefined;
  readonly #batchSize: number;
  readonly #timeoutMs: number;
  readonly #maxInputChars: number;
  #dimensions: number | undefined;
  #probe: Promise<number> | undefined;

  constructor(options: OpenAiCompatibleEmbedderOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new EmbedderError('unavailable', 'embeddings baseUrl is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EmbedderError('unavailable', 'embeddings baseUrl must be an http(s) URL');
    if (typeof options.model !== 'string' || options.model.trim() === '') throw new EmbedderError('unavailable', 'embeddings model name is empty');
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      if (value === undefined) return fallback;
      if (!Number.isInteger(value) || value < 1) throw new EmbedderError('unavailable', `${name} must be a positive integer`);
      return value;
    };
    this.#url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
    this.#model = options.model;
    this.#apiKey = options.apiKey || undefined;
    this.#batchSize = positive('batchSize', options.batchSize, 64);
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs, 60_000);
    this.#maxInputChars = positive('maxInputChars', options.maxInputChars, Number.MAX_SAFE_INTEGER);
    this.#dimensions = options.dimensions === undefined ? undefined : positive('dimensions', options.dimensions, 0);
    this.modelId = `${options.provider ?? 'openai'}:${options.model}`;
  }

  async dimensions(): Promise<number> {
    if (this.#dimensions !== undefined) return this.#dimensions;
    this.#probe ??= this.#request(['dimension probe'], undefined).then(([vector]) => vector!.length);
    try {
      return await this.#probe;
    } catch (error) {
      this.#probe = undefined;
      throw error;
    }
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (!Array.isArray(texts)) throw new EmbedderError('bad-response', 'texts must be an array of strings');
    texts.forEach((text, i) => {
      if (typeof text !== 'string') throw new EmbedderError('bad-response', `text ${i} is not a string`);
      if (text.length > this.#maxInputChars) throw new EmbedderError('too-large', `text ${i} has ${text.length} characters, more than the ${this.#maxInputChars} allowed`);
    });
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.#batchSize) {
      vectors.push(...await this.#request(texts.slice(start, start + this.#batchSize), signal));
    }
    return vectors;
  }

  async #request(input: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    if (signal?.aborted) throw new EmbedderError('cancelled', 'embedding cancelled');
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const response = await fetch(this.#url, {
        method: 'POST', headers, signal: combined,
        body: JSON.stringify({ model: this.#model, input, encoding_format: 'float' }),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw new EmbedderError('cancelled', 'embedding cancelled', { cause: error });
      if (timeout.aborted) throw new EmbedderError('unavailable', `embeddings request timed out after ${this.#timeoutMs} ms`);
      throw new EmbedderError('unavailable', `embeddings endpoint unreachable (${errorCode(error)})`);
    }
    if (status !== 200) throw this.#statusError(status, retryAfter, text);
    return this.#parse(text, input.length);
  }

  #statusError(status: number, retryAfter: string | null, body: string): EmbedderError {
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(retryAfter);
      const wait = retryAfterMs === undefined ? '' : ` (retry after ${retryAfterMs} ms)`;
      return new EmbedderError('rate-limited', `embeddings endpoint is rate limiting${wait}`, { retryAfterMs });
    }
    if (status === 413 || ((status === 400 || status === 422) && TOO_LONG.test(body))) {
      return new EmbedderError('too-large', `embeddings endpoint refused an input as too large (HTTP ${status})`);
    }
    if (status === 401 || status === 403) return new EmbedderError('unavailable', `embeddings endpoint refused the API key (HTTP ${status})`);
    if (status === 404) return new EmbedderError('unavailable', `embeddings endpoint or model ${JSON.stringify(this.#model)} not found (HTTP 404)`);
    if (status >= 500) return new EmbedderError('unavailable', `embeddings endpoint failed (HTTP ${status})`);
    return new EmbedderError('unavailable', `embeddings endpoint refused the request (HTTP ${status})`);
  }

  #parse(text: string, expected: number): Float32Array[] {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EmbedderError('bad-response', 'embeddings endpoint answered with malformed JSON');
    }
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw new EmbedderError('bad-response', 'embeddings answer has no data array');
    if (data.length !== expected) throw new EmbedderError('bad-response', `embeddings endpoint returned ${data.length} vectors for ${expected} texts`);
    const vectors = new Array<Float32Array | undefined>(expected);
    let dimensions = this.#dimensions;
    data.forEach((entry: unknown, position) => {
      const { index = position, embedding } = (entry ?? {}) as { index?: unknown; embedding?: unknown };
      if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= expected || vectors[index as number]) {
        throw new EmbedderError('bad-response', `embeddings answer has a missing, repeated or out-of-range index at position ${position}`);
      }
      if (!Array.isArray(embedding) || embedding.length === 0 || !embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new EmbedderError('bad-response', `embeddings answer ${position} is not a non-empty array of finite numbers`);
      }
      dimensions ??= embedding.length;
      if (embedding.length !== dimensions) {
        throw new EmbedderError('bad-response', `embeddings endpoint returned a vector of ${embedding.length} dimensions, expected ${dimensions}`);
      }
      vectors[index as number] = Float32Array.from(embedding as number[]);
    });
    this.#dimensions = dimensions; // learnt only from an answer that passed every check
    return vectors as Float32Array[];
  }
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The error's code (ECONNREFUSED, …) without its message, which may hold the URL with credentials. */
function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
