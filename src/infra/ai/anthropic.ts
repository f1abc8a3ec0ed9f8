// Adapter for Anthropic's Messages API through the maintained SDK (@anthropic-ai/sdk). The SDK speaks the
// SSE protocol (message_start, content_block_delta, message_delta with usage, message_stop, error
// events); call-policy.ts decides timeouts and retries: the SDK's own retries are off (maxRetries 0)
// and its logging is silenced, so neither a key nor a prompt reaches the console.
import Anthropic, { APIError, APIConnectionError } from '@anthropic-ai/sdk';
import type { MessageParam, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages/messages';
import { CallPolicy, checkBaseUrl, currentKey, errorMessage, isRecord } from './call-policy.ts';
import type { ApiKeySource, Call, CallPolicyOptions, Classifier } from './call-policy.ts';
import type { ChatChunk, ChatMessage, ChatProvider, ChatRequest, ModelInfo, TokenUsage } from './provider.ts';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

export interface AnthropicOptions extends CallPolicyOptions {
  /** Provider id, default 'anthropic'. */
  id?: string;
  /** Default https://api.anthropic.com (the SDK adds /v1). */
  baseUrl?: string;
  /** A fixed key, or a function read at every call (runtime keys set by admins). */
  apiKey?: ApiKeySource;
  /** max_tokens when the conversation sets none: the Messages API requires one. Default 4096. */
  defaultMaxTokens?: number;
}

/** Anthropic's stop reasons in the words the other adapters use; others are passed on as they are. */
const FINISH_REASONS: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length' };

export class AnthropicProvider implements ChatProvider {
  readonly id: string;
  readonly baseUrl: string;
  readonly #policy: CallPolicy;
  readonly #apiKey: ApiKeySource;
  readonly #defaultMaxTokens: number;

  constructor(options: AnthropicOptions) {
    this.id = options.id ?? 'anthropic';
    this.baseUrl = checkBaseUrl(this.id, options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL);
    this.#policy = new CallPolicy(this.id, this.baseUrl, options);
    this.#apiKey = options.apiKey;
    this.#defaultMaxTokens = options.defaultMaxTokens ?? 4096;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return this.#policy.run(signal, this.#classify, async (call) => {
      const client = await this.#client(call);
      const models: ModelInfo[] = [];
      for await (const model of client.models.list({ limit: 100 }, { signal: call.signal })) {
        if (typeof model.id === 'string') models.push({ id: model.id, provider: this.id, ownedBy: 'anthropic' });
        if (models.length >= 10_000) break;
      }
      return models;
    });
  }

  streamChat(request: ChatRequest): AsyncIterable<ChatChunk> {
    return this.#policy.stream(request.signal, request.model, this.#classify, async (call) => {
      const client = await this.#client(call);
      const { system, messages } = toAnthropicMessages(request.messages);
      const params = request.params;
      const stream = await client.messages.create({
        model: request.model,
        messages,
        max_tokens: params?.maxTokens ?? this.#defaultMaxTokens,
        stream: true,
        ...(system !== null ? { system } : {}),
        ...(params?.temperature !== undefined ? { temperature: params.temperature } : {}),
        ...(params?.topP !== undefined ? { top_p: params.topP } : {}),
      }, { signal: call.signal });
      return chunks(stream, request.model);
    });
  }

  async #client(call: Call): Promise<Anthropic> {
    const apiKey = await currentKey(this.#apiKey);
    this.#policy.secret(apiKey);
    if (!apiKey) throw this.#policy.error('PROVIDER_AUTH', 'no API key: set ANTHROPIC_API_KEY or an admin sets one (setProviderApiKey)');
    return new Anthropic({
      apiKey, baseURL: this.baseUrl, maxRetries: 0, timeout: 24 * 3600_000, fetch: call.fetch, logLevel: 'off',
    });
  }

  #classify: Classifier = (error, call, model) => {
    if (error instanceof APIConnectionError) return null; // refused, reset, timed out: the policy words it
    if (!(error instanceof APIError)) return null;
    const message = errorMessage(error.error) ?? null;
    if (error.status === undefined) {
      // An `event: error` inside the stream (overloaded_error, api_error, …).
      const type = isRecord(error.error) && isRecord(error.error.error) && typeof error.error.error.type === 'string' ? error.error.error.type : 'error';
      return this.#policy.error('PROVIDER_UNAVAILABLE', `provider reported an error mid-stream (${type})${message ? `: ${message}` : ''}`, {
        status: call.response?.status ?? null,
      });
    }
    return this.#policy.httpError(error.status, error.headers ?? null, message, model, error.error);
  };
}

/** System messages become the `system` parameter; consecutive turns of one role are joined (the API alternates). */
export function toAnthropicMessages(input: readonly ChatMessage[]): { system: string | null; messages: MessageParam[] } {
  const system = input.filter((m) => m.role === 'system').map((m) => m.content);
  const messages: MessageParam[] = [];
  for (const message of input) {
    if (message.role === 'system') continue;
    const last = messages.at(-1);
    if (last && last.role === message.role) last.content = `${last.content as string}\n\n${message.content}`;
    else messages.push({ role: message.role, content: message.content });
  }
  return { system: system.length > 0 ? system.join('\n\n') : null, messages };
}

async function* chunks(stream: AsyncIterable<RawMessageStreamEvent>, requested: string): AsyncGenerator<ChatChunk, void, undefined> {
  let model = requested;
  let finishReason: string | null = null;
  let inputTokens = 0;
  let outputTokens = 0;
  let sawUsage = false;
  for await (const event of stream) {
    switch (event.type) {
      case 'message_start':
        if (event.message.model) model = event.message.model;
        if (event.message.usage) {
          sawUsage = true;
          inputTokens = event.message.usage.input_tokens ?? 0;
          outputTokens = event.message.usage.output_tokens ?? 0;
        }
        break;
      case 'content_block_delta':
        if (event.delta.type === 'text_delta') yield { type: 'delta', text: event.delta.text };
        break;
      case 'message_delta':
        if (event.delta.stop_reason) finishReason = FINISH_REASONS[event.delta.stop_reason] ?? event.delta.stop_reason;
        if (event.usage) {
          sawUsage = true;
          if (typeof event.usage.input_tokens === 'number') inputTokens = event.usage.input_tokens;
          if (typeof event.usage.output_tokens === 'number') outputTokens = event.usage.output_tokens;
        }
        break;
      case 'message_stop': {
        const usage: TokenUsage | null = sawUsage ? { promptTokens: inputTokens, completionTokens: outputTokens, totalTokens: inputTokens + outputTokens } : null;
        yield { type: 'done', finishReason: finishReason ?? 'stop', usage, model };
        return;
      }
      default:
        break;
    }
  }
}
