// Adapter for the OpenAI chat-completions wire protocol, which OpenAI, Ollama, vLLM, LM Studio, the
// llama.cpp server, OpenRouter, Groq and Mistral all speak. Streams over SSE with the global fetch.
//
// Failure policy: before the first token, connection errors, 5xx and 429 are retried with exponential
// backoff and jitter (a 429's Retry-After is honoured up to maxRetryAfterMs); after the first token nothing
// is retried, because the caller has already seen part of the answer. Timeouts are not retried (the wait
// has already been long). Every failure is a ProviderError, and no message ever contains the API key.
import { setTimeout as sleep } from 'node:timers/promises';
import { Call } from './call.ts';
import { ProviderError } from './provider.ts';
import type { ChatChunk, ChatProvider, ChatRequest, ModelInfo, ProviderErrorCode, ProviderErrorOptions, TokenUsage } from './provider.ts';

export interface OpenAiCompatibleOptions {
  /** Provider id, default 'openai'. */
  id?: string;
  /** The URL up to and including /v1, e.g. http://127.0.0.1:11434/v1. */
  baseUrl: string;
  /** A fixed key, or a function read at every request (a runtime key set by an admin wins over the configured one). */
  apiKey?: string | (() => Promise<string | undefined>);
  /** Time allowed until the response headers arrive (for listModels: the whole answer). Default 30000 (PROVIDER_CONNECT_TIMEOUT_MS). */
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

// ---------------------------------------------------------------------------------------------------------
// Server-sent events

export interface SseEvent {
  /** The `event:` field, 'message' when absent. */
  event: string;
  /** The `data:` lines of the event joined with '\n'. */
  data: string;
  id: string | null;
}

/**
 * Incremental decoder for a text/event-stream (WHATWG HTML §9.2): bytes may be split anywhere, including
 * inside a UTF-8 sequence or between the CR and LF of a line break; lines end with CRLF, LF or CR; lines
 * starting with ':' are comments; an event is dispatched by a blank line. At the end of the stream an
 * event without its closing blank line is still dispatched (lenient towards abrupt but complete servers).
 */
export class SseDecoder {
  #decoder = new TextDecoder('utf-8');
  #buffer = '';
  #skipLeadingLf = false;
  #data: string[] = [];
  #event = '';
  #id: string | null = null;

  push(chunk: Uint8Array | string): SseEvent[] {
    const events: SseEvent[] = [];
    this.#feed(typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }), events);
    return events;
  }

  end(): SseEvent[] {
    const events: SseEvent[] = [];
    this.#feed(this.#decoder.decode(), events);
    if (this.#buffer !== '') {
      this.#line(this.#buffer, events);
      this.#buffer = '';
    }
    this.#line('', events);
    return events;
  }

  #feed(text: string, events: SseEvent[]): void {
    if (text === '') return;
    let buffer = this.#buffer + text;
    this.#buffer = '';
    if (this.#skipLeadingLf) {
      this.#skipLeadingLf = false;
      if (buffer.startsWith('\n')) buffer = buffer.slice(1);
    }
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf('\n', start);
      const cr = buffer.indexOf('\r', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      this.#line(buffer.slice(start, end), events);
      if (buffer[end] === '\r') {
        if (end + 1 === buffer.length) {
          this.#skipLeadingLf = true; // the LF of a CRLF may come with the next chunk
          start = end + 1;
        } else {
          start = buffer[end + 1] === '\n' ? end + 2 : end + 1;
        }
      } else {
        start = end + 1;
      }
    }
    this.#buffer = buffer.slice(start);
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === '') {
      if (this.#data.length > 0) events.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Provider

interface StreamState {
  finishReason: string | null;
  usage: TokenUsage | null;
  model: string;
}

export class OpenAiCompatibleProvider implements ChatProvider {
  readonly id: string;
  readonly baseUrl: string;
  readonly #apiKey: string | (() => Promise<string | undefined>) | undefined;
  /** Every key used so far: none may appear in an error message. */
  readonly #usedKeys = new Set<string>();
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #retryBaseMs: number;
  readonly #maxRetryAfterMs: number;

  constructor(options: OpenAiCompatibleOptions) {
    this.id = options.id ?? 'openai';
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${this.id}: baseUrl is not a valid URL`, { provider: this.id });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ProviderError('PROVIDER_NOT_CONFIGURED', `${this.id}: baseUrl must be an http(s) URL`, { provider: this.id });
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey || undefined;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.#maxRetries = Math.max(0, options.maxRetries ?? 2);
    this.#retryBaseMs = options.retryBaseMs ?? 500;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    for (let attempt = 0; ; attempt++) {
      const call = new Call(signal);
      try {
        if (signal?.aborted) throw this.#error('PROVIDER_CANCELLED', 'request cancelled');
        call.arm('connect', this.#connectTimeoutMs);
        const response = await this.#send(call, 'GET', '/models', undefined, null);
        const text = await response.text();
        let payload: unknown;
        try {
          payload = JSON.parse(text);
        } catch {
          throw this.#error('PROVIDER_BAD_RESPONSE', `malformed model list: ${truncate(text)}`, { status: response.status });
        }
        const data = isRecord(payload) ? payload.data : undefined;
        if (!Array.isArray(data)) throw this.#error('PROVIDER_BAD_RESPONSE', 'malformed model list: no data array', { status: response.status });
        return data
          .filter((entry): entry is Record<string, unknown> => isRecord(entry) && typeof entry.id === 'string')
          .map((entry) => ({ id: entry.id as string, provider: this.id, ownedBy: typeof entry.owned_by === 'string' ? entry.owned_by : null }));
      } catch (error) {
        const failure = this.#classify(call, error, signal);
        if (!this.#retryable(failure) || attempt >= this.#maxRetries) throw failure;
        await this.#backoff(failure, attempt, signal);
      } finally {
        call.dispose();
      }
    }
  }

  async *streamChat(request: ChatRequest): AsyncGenerator<ChatChunk, void, undefined> {
    const { signal } = request;
    const body = JSON.stringify(this.#chatBody(request));
    let yielded = false;
    for (let attempt = 0; ; attempt++) {
      const call = new Call(signal);
      try {
        if (signal?.aborted) throw this.#error('PROVIDER_CANCELLED', 'request cancelled');
        call.arm('connect', this.#connectTimeoutMs);
        const response = await this.#send(call, 'POST', '/chat/completions', body, request.model);
        call.disarm();
        call.phase = 'stream';
        const state: StreamState = { finishReason: null, usage: null, model: request.model };
        const contentType = response.headers.get('content-type') ?? '';
        if (contentType.includes('application/json')) {
          // A server that ignored `stream: true` and answered with one completion object.
          call.arm('idle', this.#idleTimeoutMs);
          const text = this.#completion(await response.text(), state, response.status);
          call.disarm();
          if (text !== '') {
            yielded = true;
            yield { type: 'delta', text };
          }
        } else {
          for await (const text of this.#streamDeltas(call, response, state)) {
            yielded = true;
            yield { type: 'delta', text };
          }
        }
        yield { type: 'done', finishReason: state.finishReason, usage: state.usage, model: state.model };
        return;
      } catch (error) {
        const failure = this.#classify(call, error, signal);
        if (yielded || !this.#retryable(failure) || attempt >= this.#maxRetries) throw failure;
        await this.#backoff(failure, attempt, signal);
      } finally {
        call.dispose();
      }
    }
  }

  // Reads the SSE body, yielding non-empty content deltas and recording finish reason, usage and model.
  async *#streamDeltas(call: Call, response: Response, state: StreamState): AsyncGenerator<string, void, undefined> {
    if (!response.body) throw this.#error('PROVIDER_BAD_RESPONSE', 'empty response body', { status: response.status });
    const reader = response.body.getReader();
    const decoder = new SseDecoder();
    let sawDone = false;
    try {
      while (!sawDone) {
        call.arm('idle', this.#idleTimeoutMs);
        const { done, value } = await reader.read();
        call.disarm();
        const events = done ? decoder.end() : decoder.push(value);
        for (const event of events) {
          if (event.data.trim() === '[DONE]') {
            sawDone = true;
            break;
          }
          const text = this.#streamEvent(event, state, response.status);
          if (text !== '') yield text;
        }
        if (done) break;
      }
    } finally {
      call.disarm();
      reader.cancel().catch(() => {});
    }
    if (!sawDone && state.finishReason === null) {
      throw this.#error('PROVIDER_UNAVAILABLE', 'stream ended early', { status: response.status });
    }
  }

  #streamEvent(event: SseEvent, state: StreamState, status: number): string {
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch {
      throw this.#error('PROVIDER_BAD_RESPONSE', `malformed stream chunk: ${truncate(event.data)}`, { status });
    }
    if (!isRecord(payload)) throw this.#error('PROVIDER_BAD_RESPONSE', `unexpected stream chunk: ${truncate(event.data)}`, { status });
    if (payload.error !== undefined && payload.error !== null) {
      throw this.#error('PROVIDER_UNAVAILABLE', `provider reported an error mid-stream: ${errorMessage(payload) ?? truncate(event.data)}`, { status });
    }
    if (typeof payload.model === 'string' && payload.model !== '') state.model = payload.model;
    const usage = toUsage(payload.usage);
    if (usage) state.usage = usage;
    const choice = Array.isArray(payload.choices) ? payload.choices[0] : undefined;
    if (!isRecord(choice)) return '';
    if (typeof choice.finish_reason === 'string') state.finishReason = choice.finish_reason;
    const delta = choice.delta;
    return isRecord(delta) && typeof delta.content === 'string' ? delta.content : '';
  }

  #completion(text: string, state: StreamState, status: number): string {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw this.#error('PROVIDER_BAD_RESPONSE', `malformed completion: ${truncate(text)}`, { status });
    }
    const choice = isRecord(payload) && Array.isArray(payload.choices) ? payload.choices[0] : undefined;
    if (!isRecord(payload) || !isRecord(choice)) throw this.#error('PROVIDER_BAD_RESPONSE', `unexpected completion: ${truncate(text)}`, { status });
    if (typeof payload.model === 'string' && payload.model !== '') state.model = payload.model;
    state.usage = toUsage(payload.usage);
    state.finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : 'stop';
    const message = choice.message;
    return isRecord(message) && typeof message.content === 'string' ? message.content : '';
  }

  #chatBody(request: ChatRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      stream: true,
      stream_options: { include_usage: true },
    };
    const params = request.params;
    if (params?.temperature !== undefined) body.temperature = params.temperature;
    if (params?.topP !== undefined) body.top_p = params.topP;
    if (params?.maxTokens !== undefined) body.max_tokens = params.maxTokens;
    return body;
  }

  /** Sends the request and returns a 2xx response; any other status becomes a ProviderError. */
  async #send(call: Call, method: 'GET' | 'POST', path: string, body: string | undefined, model: string | null): Promise<Response> {
    const headers: Record<string, string> = { accept: method === 'POST' ? 'text/event-stream' : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const apiKey = (typeof this.#apiKey === 'function' ? await this.#apiKey() : this.#apiKey) || undefined;
    if (apiKey) {
      this.#usedKeys.add(apiKey);
      headers.authorization = `Bearer ${apiKey}`;
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body, signal: call.controller.signal });
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    throw this.#httpError(response, text, model);
  }

  #httpError(response: Response, text: string, model: string | null): ProviderError {
    const status = response.status;
    const message = errorMessage(parseJson(text)) ?? truncate(text.trim());
    const detail = message ? `: ${message}` : '';
    const code = errorCode(parseJson(text));
    if (status === 401 || status === 403) return this.#error('PROVIDER_AUTH', `authentication failed (HTTP ${status})${detail}`, { status });
    if (model !== null && (status === 404 || code === 'model_not_found')) {
      return this.#error('MODEL_NOT_FOUND', `model "${model}" not found (HTTP ${status})${detail}`, { status });
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers);
      const wait = retryAfterMs === null ? '' : ` (retry after ${Math.ceil(retryAfterMs / 1000)} s)`;
      return this.#error('PROVIDER_RATE_LIMITED', `rate limited (HTTP 429)${wait}${detail}`, { status, retryAfterMs });
    }
    if (status >= 500) return this.#error('PROVIDER_UNAVAILABLE', `provider failed (HTTP ${status})${detail}`, { status });
    return this.#error('PROVIDER_BAD_RESPONSE', `request rejected (HTTP ${status})${detail}`, { status });
  }

  #classify(call: Call, error: unknown, signal: AbortSignal | undefined): ProviderError {
    if (signal?.aborted) {
      return error instanceof ProviderError && error.code === 'PROVIDER_CANCELLED' ? error : this.#error('PROVIDER_CANCELLED', 'request cancelled');
    }
    if (error instanceof ProviderError) return error;
    if (call.timedOut === 'connect') return this.#error('PROVIDER_TIMEOUT', `no response within ${this.#connectTimeoutMs} ms`);
    if (call.timedOut === 'idle') return this.#error('PROVIDER_TIMEOUT', `no data from the provider for ${this.#idleTimeoutMs} ms`);
    const reason = describe(error);
    if (call.phase === 'connect') return this.#error('PROVIDER_UNAVAILABLE', `cannot reach ${origin(this.baseUrl)}: ${reason}`, { cause: error });
    return this.#error('PROVIDER_UNAVAILABLE', `stream ended early: ${reason}`, { cause: error });
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
      throw this.#error('PROVIDER_CANCELLED', 'request cancelled');
    }
  }

  /** Every ProviderError goes through here: prefixed with the provider id, and never carrying the API key. */
  #error(code: ProviderErrorCode, message: string, options: Omit<ProviderErrorOptions, 'provider'> = {}): ProviderError {
    let text = `${this.id}: ${message}`;
    for (const key of this.#usedKeys) text = text.split(key).join('[redacted]');
    return new ProviderError(code, text, { ...options, provider: this.id });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The provider's own message from `{error:{message}}`, `{error:"..."}` or `{message}`. */
function errorMessage(payload: unknown): string | null {
  if (!isRecord(payload)) return null;
  const error = payload.error;
  if (isRecord(error) && typeof error.message === 'string') return truncate(error.message);
  if (typeof error === 'string') return truncate(error);
  if (typeof payload.message === 'string') return truncate(payload.message);
  return null;
}

function errorCode(payload: unknown): string | null {
  return isRecord(payload) && isRecord(payload.error) && typeof payload.error.code === 'string' ? payload.error.code : null;
}

function toUsage(value: unknown): TokenUsage | null {
  if (!isRecord(value)) return null;
  const prompt = typeof value.prompt_tokens === 'number' ? value.prompt_tokens : 0;
  const completion = typeof value.completion_tokens === 'number' ? value.completion_tokens : 0;
  const total = typeof value.total_tokens === 'number' ? value.total_tokens : prompt + completion;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: total };
}

/** Retry-After as delta-seconds or an HTTP date (or the non-standard retry-after-ms), in milliseconds. */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ? `${code}` : cause.message;
    }
    return error.message;
  }
  return String(error);
}

function origin(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return 'the provider';
  }
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
