// Adapter for Google's Gemini API through the maintained SDK (@google/genai): streamGenerateContent with
// alt=sse, and the model list. call-policy.ts decides timeouts and retries; the SDK is given no
// retryOptions (it then sends each request once) and automatic stream continuation is switched off, so a
// dropped stream is reported instead of being silently re-requested.
import { ApiError, GoogleGenAI } from '@google/genai';
import type { Content, GenerateContentResponse } from '@google/genai';
import { CallPolicy, checkBaseUrl, currentKey, errorMessage, parseJson, truncate } from './call-policy.ts';
import type { ApiKeySource, Call, CallPolicyOptions, Classifier } from './call-policy.ts';
import type { ChatChunk, ChatMessage, ChatProvider, ChatRequest, ModelInfo, TokenUsage } from './provider.ts';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

export interface GeminiOptions extends CallPolicyOptions {
  /** Provider id, default 'gemini'. */
  id?: string;
  /** Default https://generativelanguage.googleapis.com (the SDK adds /v1beta). */
  baseUrl?: string;
  /** A fixed key, or a function read at every call (runtime keys set by admins). */
  apiKey?: ApiKeySource;
}

/** Gemini's finish reasons in the words the other adapters use; others are passed on in lower case. */
const FINISH_REASONS: Record<string, string> = { STOP: 'stop', MAX_TOKENS: 'length' };

export class GeminiProvider implements ChatProvider {
  readonly id: string;
  readonly baseUrl: string;
  readonly #policy: CallPolicy;
  readonly #apiKey: ApiKeySource;

  constructor(options: GeminiOptions) {
    this.id = options.id ?? 'gemini';
    this.baseUrl = checkBaseUrl(this.id, options.baseUrl ?? GEMINI_DEFAULT_BASE_URL);
    this.#policy = new CallPolicy(this.id, this.baseUrl, options);
    this.#apiKey = options.apiKey;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return this.#policy.run(signal, this.#classify, async (call) => {
      const client = await this.#client(call);
      const models: ModelInfo[] = [];
      const pager = await client.models.list({ config: { pageSize: 100, abortSignal: call.signal } });
      for await (const model of pager) {
        if (typeof model.name !== 'string') continue;
        const actions = model.supportedActions;
        if (Array.isArray(actions) && !actions.includes('generateContent')) continue; // embedding models and the like
        models.push({ id: model.name.replace(/^models\//, ''), provider: this.id, ownedBy: 'google' });
        if (models.length >= 10_000) break;
      }
      return models;
    });
  }

  streamChat(request: ChatRequest): AsyncIterable<ChatChunk> {
    return this.#policy.stream(request.signal, request.model, this.#classify, async (call) => {
      const client = await this.#client(call);
      const { system, contents } = toGeminiContents(request.messages);
      const params = request.params;
      const stream = await client.models.generateContentStream({
        model: request.model,
        contents,
        config: {
          abortSignal: call.signal,
          automaticContinuation: false,
          ...(system !== null ? { systemInstruction: system } : {}),
          ...(params?.temperature !== undefined ? { temperature: params.temperature } : {}),
          ...(params?.topP !== undefined ? { topP: params.topP } : {}),
          ...(params?.maxTokens !== undefined ? { maxOutputTokens: params.maxTokens } : {}),
        },
      });
      return chunks(stream, request.model);
    });
  }

  async #client(call: Call): Promise<GoogleGenAI> {
    const apiKey = await currentKey(this.#apiKey);
    this.#policy.secret(apiKey);
    if (!apiKey) throw this.#policy.error('PROVIDER_AUTH', 'no API key: set GEMINI_API_KEY or an admin sets one (setProviderApiKey)');
    return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: this.baseUrl, fetch: call.fetch } });
  }

  #classify: Classifier = (error, call, model) => {
    if (error instanceof ApiError) {
      // The SDK puts the error body's JSON in the message (after "got status: X. " for in-stream errors).
      const start = error.message.indexOf('{');
      const body = start >= 0 ? parseJson(error.message.slice(start)) : undefined;
      const message = errorMessage(body) ?? truncate(error.message);
      if (call.phase === 'stream') {
        return this.#policy.error('PROVIDER_UNAVAILABLE', `provider reported an error mid-stream (HTTP ${error.status}): ${message}`, { status: error.status });
      }
      const headers = call.response && call.response.status === error.status ? call.response.headers : null;
      return this.#policy.httpError(error.status, headers, message, model, body);
    }
    if (error instanceof Error && /^(exception parsing stream chunk|Incomplete JSON segment)/.test(error.message)) {
      return this.#policy.error('PROVIDER_BAD_RESPONSE', `malformed stream chunk: ${truncate(error.message.replace(/^exception parsing stream chunk /, ''), 120)}`);
    }
    return null;
  };
}

/** System messages become the systemInstruction; assistant turns are 'model'; consecutive turns of one role are joined. */
export function toGeminiContents(input: readonly ChatMessage[]): { system: string | null; contents: Content[] } {
  const system = input.filter((m) => m.role === 'system').map((m) => m.content);
  const contents: Content[] = [];
  for (const message of input) {
    if (message.role === 'system') continue;
    const role = message.role === 'assistant' ? 'model' : 'user';
    const last = contents.at(-1);
    if (last && last.role === role) last.parts = [{ text: `${last.parts?.[0]?.text ?? ''}\n\n${message.content}` }];
    else contents.push({ role, parts: [{ text: message.content }] });
  }
  return { system: system.length > 0 ? system.join('\n\n') : null, contents };
}

async function* chunks(stream: AsyncIterable<GenerateContentResponse>, requested: string): AsyncGenerator<ChatChunk, void, undefined> {
  let model = requested;
  let finishReason: string | null = null;
  let usage: TokenUsage | null = null;
  for await (const response of stream) {
    if (response.modelVersion) model = response.modelVersion;
    const candidate = response.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      if (typeof part.text === 'string' && part.text !== '' && !part.thought) yield { type: 'delta', text: part.text };
    }
    if (candidate?.finishReason) finishReason = FINISH_REASONS[candidate.finishReason] ?? candidate.finishReason.toLowerCase();
    const meta = response.usageMetadata;
    if (meta) {
      const prompt = meta.promptTokenCount ?? 0;
      const completion = meta.candidatesTokenCount ?? 0;
      usage = { promptTokens: prompt, completionTokens: completion, totalTokens: meta.totalTokenCount ?? prompt + completion };
    }
  }
  // Gemini has no end marker: a stream is complete when a candidate said why it finished.
  if (finishReason !== null) yield { type: 'done', finishReason, usage, model };
}
