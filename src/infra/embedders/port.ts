/**
 * The embedder port: turns texts into vectors for the vector indexes. An adapter never logs or puts
 * into an error message the texts it embeds (document text is personal data) or an API key.
 */
export interface Embedder {
  /** Stable id of the model, e.g. 'openai:text-embedding-3-small'; vector spaces are keyed by it. */
  readonly modelId: string;
  /** Length of every vector this embedder returns (may ask the model once, then remembered). */
  dimensions(): Promise<number>;
  /** One vector per text, in the order given; all of them `dimensions()` long. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/**
 * - `unavailable`: the model cannot be reached or refused the request (network, 5xx, auth, timeout,
 *   unknown model, missing file); retrying later may help.
 * - `bad-response`: the model answered with something unusable (malformed JSON, wrong number of
 *   vectors, wrong dimension, non-finite numbers).
 * - `rate-limited`: asked to slow down; `retryAfterMs` says for how long when the server said so.
 * - `too-large`: an input is longer than the model takes.
 * - `cancelled`: the caller's signal aborted the call.
 */
export type EmbedderErrorCode = 'unavailable' | 'bad-response' | 'rate-limited' | 'too-large' | 'cancelled';

export interface EmbedderErrorOptions {
  retryAfterMs?: number;
  cause?: unknown;
}

export class EmbedderError extends Error {
  readonly code: EmbedderErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: EmbedderErrorCode, message: string, options: EmbedderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EmbedderError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}
