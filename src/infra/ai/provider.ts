// The AI provider port (ARCHITECTURE.md §7): stream a chat completion as text deltas followed by exactly
// one 'done' chunk carrying the finish reason and token usage. Adapters translate wire protocols and map
// every failure to a ProviderError with a stable code.

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }
export interface ChatParams { temperature?: number; topP?: number; maxTokens?: number }
export interface TokenUsage { promptTokens: number; completionTokens: number; totalTokens: number }
export interface ChatRequest { model: string; messages: ChatMessage[]; params?: ChatParams; signal?: AbortSignal }

export type ChatChunk =
  | { type: 'delta'; text: string }
  | { type: 'done'; finishReason: string | null; usage: TokenUsage | null; model: string };

export interface ModelInfo { id: string; provider: string; ownedBy: string | null }

export interface ChatProvider {
  /** Stable identifier, e.g. 'openai'; also the prefix that forces this provider ('openai/gpt-4o'). */
  readonly id: string;
  /** Where it is reached; only its host is ever recorded (reply provenance). */
  readonly baseUrl?: string;
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /** Yields deltas, then exactly one 'done'. Throws a ProviderError; breaking out of the loop aborts the request. */
  streamChat(request: ChatRequest): AsyncIterable<ChatChunk>;
}

export const PROVIDER_ERROR_CODES = [
  'PROVIDER_NOT_CONFIGURED',
  'MODEL_NOT_FOUND',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_RATE_LIMITED',
  'PROVIDER_TIMEOUT',
  'PROVIDER_AUTH',
  'PROVIDER_BAD_RESPONSE',
  'PROVIDER_CANCELLED',
] as const;

export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

export interface ProviderErrorOptions {
  /** HTTP status of the provider's answer, when there was one. */
  status?: number | null;
  /** How long the provider asked us to wait (429 Retry-After), in milliseconds. */
  retryAfterMs?: number | null;
  /** Id of the provider that failed, when known. */
  provider?: string | null;
  cause?: unknown;
}

export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  readonly provider: string | null;

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.code = code;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.provider = options.provider ?? null;
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}
