// What every SDK-based adapter (Anthropic, Gemini, Ollama) shares with the hand-written OpenAI-compatible
// one: timeouts, retries and the mapping of failures to ProviderError codes. The vendors' SDKs speak the
// wire protocols; this module decides when to give up. Each SDK is told not to retry on its own
// (maxRetries 0, no retryOptions, no automatic stream continuation) so that a reply never waits minutes
// in a library's backoff loop, and every request goes through `Call.fetch`, which links the caller's
// AbortSignal and our timers to the HTTP request and remembers the response (status, Retry-After).
//
// Failure policy (as in openai-compatible.ts): before the first token, connection errors, 5xx (529
// overloaded included) and 429 are retried with exponential backoff and jitter, a 429's Retry-After
// honoured up to maxRetryAfterMs; after the first token nothing is retried. Timeouts are not retried.
import { setTimeout as sleep } from 'node:timers/promises';
import { Call } from './call.ts';
import { parseRetryAfter } from './openai-compatible.ts';
import { ProviderError } from './provider.ts';
import type { ChatChunk, ProviderErrorCode, ProviderErrorOptions } from './provider.ts';

export type { Call } from './call.ts';

export interface CallPolicyOptions {
  /** Time allowed until the response headers arrive (for a listing: the whole answer). Default 30000. */
  connectTimeoutMs?: number;
  /** Longest gap allowed between two chunks of a stream. Default 60000. */
  idleTimeoutMs?: number;
  /** Retries before the first token. Default 2. */
  maxRetries?: number;
  /** First backoff step; doubles on each retry, with jitter. Default 500. */
  retryBaseMs?: number;
  /** A 429 asking to wait longer than this fails at once with PROVIDER_RATE_LIMITED. Default 30000. */
  maxRetryAfterMs?: number;
}

/** Maps an SDK's own error to a ProviderError; null lets the policy decide (connection failure). */
export type Classifier = (error: unknown, call: Call, model: string | null) => ProviderError | null;

export class CallPolicy {
  readonly providerId: string;
  readonly baseUrl: string;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #retryBaseMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #secrets = new Set<string>();

  constructor(providerId: string, baseUrl: string, options: CallPolicyOptions = {}) {
    this.providerId = providerId;
    this.baseUrl = baseUrl;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.#retryBaseMs = options.retryBaseMs ?? 500;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  }

  /** A key that must never appear in an error message (every key this provider has used). */
  secret(key: string | undefined): void {
    if (key && key.length >= 4) this.#secrets.add(key);
  }

  /** Every ProviderError goes through here: prefixed with the provider id, never carrying an API key. */
  error(code: ProviderErrorCode, message: string, options: Omit<ProviderErrorOptions, 'provider'> = {}): ProviderError {
    return new ProviderError(code, this.redact(`${this.providerId}: ${message}`), { ...options, provider: this.providerId });
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.#secrets) result = result.split(secret).join('[redacted]');
    return result;
  }

  /** The ProviderError for an HTTP error status, as the OpenAI-compatible adapter maps it. */
  httpError(status: number, headers: Headers | null, providerMessage: string | null, model: string | null, body: unknown = null): ProviderError {
    const detail = providerMessage ? `: ${truncate(providerMessage)}` : '';
    if (status === 401 || status === 403) return this.error('PROVIDER_AUTH', `authentication failed (HTTP ${status})${detail}`, { status });
    if (model !== null && status === 404) return this.error('MODEL_NOT_FOUND', `model "${model}" not found (HTTP ${status})${detail}`, { status });
    if (status === 429) {
      const retryAfterMs = (headers && parseRetryAfter(headers)) ?? retryInfoDelayMs(body);
      const wait = retryAfterMs === null ? '' : ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)`;
      return this.error('PROVIDER_RATE_LIMITED', `rate limited (HTTP 429)${wait}${detail}`, { status, retryAfterMs });
    }
    if (status >= 500) return this.error('PROVIDER_UNAVAILABLE', `provider failed (HTTP ${status})${detail}`, { status });
    return this.error('PROVIDER_BAD_RESPONSE', `request rejected (HTTP ${status})${detail}`, { status });
  }

  /** A unary call (a model listing): the connect timeout covers the whole answer; retried like a stream's start. */
  async run<T>(signal: AbortSignal | undefined, classify: Classifier, fn: (call: Call) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const call = new Call(signal);
      try {
        if (signal?.aborted) throw this.error('PROVIDER_CANCELLED', 'request cancelled');
        call.arm('connect', this.connectTimeoutMs);
        return await fn(call);
      } catch (error) {
        const failure = this.classify(call, error, signal, classify, null);
        if (!this.#retryable(failure) || attempt >= this.#maxRetries) throw failure;
        await this.#backoff(failure, attempt, signal);
      } finally {
        call.dispose();
      }
    }
  }

  /**
   * A streamed reply. `open` sends the request and resolves once the response has started (the SDKs throw
   * HTTP errors there); its iterable yields deltas and ends with one 'done' only when the provider said the
   * reply is complete. An iterable that ends without 'done' is a stream that ended early.
   */
  async *stream(
    signal: AbortSignal | undefined, model: string, classify: Classifier,
    open: (call: Call) => Promise<AsyncIterable<ChatChunk>>,
  ): AsyncGenerator<ChatChunk, void, undefined> {
    let yielded = false;
    for (let attempt = 0; ; attempt++) {
      const call = new Call(signal);
      try {
        if (signal?.aborted) throw this.error('PROVIDER_CANCELLED', 'request cancelled');
        call.arm('connect', this.connectTimeoutMs);
        const iterable = await open(call);
        call.disarm();
        call.phase = 'stream';
        const iterator = iterable[Symbol.asyncIterator]();
        let finished = false;
        try {
          for (;;) {
            call.arm('idle', this.idleTimeoutMs);
            const next = await iterator.next();
            call.disarm();
            if (next.done) break;
            const chunk = next.value;
            if (chunk.type === 'delta') {
              if (chunk.text === '') continue;
              yielded = true;
              yield chunk;
            } else {
              finished = true;
              yield chunk;
              return;
            }
          }
        } finally {
          if (!finished) await iterator.return?.().catch(() => {});
        }
        throw this.error('PROVIDER_UNAVAILABLE', 'stream ended early', { status: call.response?.status ?? null });
      } catch (error) {
        const failure = this.classify(call, error, signal, classify, model);
        if (yielded || !this.#retryable(failure) || attempt >= this.#maxRetries) throw failure;
        await this.#backoff(failure, attempt, signal);
      } finally {
        call.dispose();
      }
    }
  }

  classify(call: Call, error: unknown, signal: AbortSignal | undefined, classify: Classifier, model: string | null): ProviderError {
    if (signal?.aborted) {
      return error instanceof ProviderError && error.code === 'PROVIDER_CANCELLED' ? error : this.error('PROVIDER_CANCELLED', 'request cancelled');
    }
    // Our own timer aborted the request (some SDKs then end the stream quietly): that is the cause.
    if (call.timedOut === 'connect') return this.error('PROVIDER_TIMEOUT', `no response within ${this.connectTimeoutMs} ms`);
    if (call.timedOut === 'idle') return this.error('PROVIDER_TIMEOUT', `no data from the provider for ${this.idleTimeoutMs} ms`);
    const own = findProviderError(error);
    if (own) return own;
    const mapped = classify(error, call, model);
    if (mapped) return mapped;
    const reason = this.redact(describe(error));
    if (error instanceof SyntaxError || (error instanceof Error && error.cause instanceof SyntaxError)) {
      return this.error('PROVIDER_BAD_RESPONSE', `malformed ${call.phase === 'stream' ? 'stream chunk' : 'response'}: ${reason}`, { status: call.response?.status ?? null });
    }
    if (call.phase === 'connect') return this.error('PROVIDER_UNAVAILABLE', `cannot reach ${origin(this.baseUrl)}: ${reason}`, { cause: error });
    return this.error('PROVIDER_UNAVAILABLE', `stream ended early: ${reason}`, { cause: error });
  }

  #retryable(error: ProviderError): boolean {
    if (error.code === 'PROVIDER_UNAVAILABLE') return true;
    if (error.code === 'PROVIDER_RATE_LIMITED') return error.retryAfterMs === null || error.retryAfterMs <= this.#maxRetryAfterMs;
    return false;
  }

  async #backoff(error: ProviderError, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    let delay: number;
    if (error.code === 'PROVIDER_RATE_LIMITED' && error.retryAfterMs !== null) {
      delay = error.retryAfterMs;
    } else {
      const step = Math.min(this.#retryBaseMs * 2 ** attempt, this.#maxRetryAfterMs);
      delay = step / 2 + Math.random() * (step / 2);
    }
    try {
      await sleep(delay, undefined, signal ? { signal } : undefined);
    } catch {
      throw this.error('PROVIDER_CANCELLED', 'request cancelled');
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** A ProviderError thrown by our own code (Call.fetch, a stream guard), possibly wrapped by an SDK. */
function findProviderError(error: unknown): ProviderError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof ProviderError) return current;
    current = current instanceof Error ? current.cause : undefined;
  }
  return null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The provider's own message from `{error:{message}}`, `{error:"..."}` or `{message}`. */
export function errorMessage(payload: unknown): string | null {
  if (!isRecord(payload)) return null;
  const error = payload.error;
  if (isRecord(error) && typeof error.message === 'string') return truncate(error.message);
  if (typeof error === 'string') return truncate(error);
  if (typeof payload.message === 'string') return truncate(payload.message);
  return null;
}

/** Google's RetryInfo (`error.details[].retryDelay: "30s"`), in milliseconds. */
function retryInfoDelayMs(body: unknown): number | null {
  const details = isRecord(body) && isRecord(body.error) && Array.isArray(body.error.details) ? body.error.details : [];
  for (const detail of details) {
    if (isRecord(detail) && typeof detail.retryDelay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay.trim());
      if (match) return Math.ceil(Number(match[1]) * 1000);
    }
  }
  return null;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? `${code}` : truncate(cause.message);
    }
    return truncate(error.message);
  }
  return truncate(String(error));
}

function origin(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return 'the provider';
  }
}

export function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Checks an http(s) base URL; the provider id names it in the error. */
export function checkBaseUrl(id: string, baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${id}: baseUrl is not a valid URL`, { provider: id });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${id}: baseUrl must be an http(s) URL`, { provider: id });
  }
  return baseUrl.replace(/\/+$/, '');
}

/** Where a provider's API key comes from at call time: a runtime key set by an admin wins over configuration. */
export type ApiKeySource = string | undefined | (() => Promise<string | undefined>);

export async function currentKey(source: ApiKeySource): Promise<string | undefined> {
  const key = typeof source === 'function' ? await source() : source;
  return key || undefined;
}
