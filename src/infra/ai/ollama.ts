// Adapter for Ollama's native API (/api/chat streaming NDJSON, /api/tags) through the maintained client
// (ollama). Ollama's OpenAI-compatible /v1 endpoint stays available through openai-compatible.ts; the
// native one reports load and token counts of its own and needs no /v1 shim.
//
// The client is given a guarded fetch (see `guard`): it answers HTTP errors itself, so the client's
// console output on error bodies never runs and the status and Retry-After reach call-policy.ts; and it
// checks every NDJSON line before the client sees it, because the client skips a malformed line with a
// console.warn of its text (reply text in the logs, and a silently shortened reply) and turns an
// in-stream `{"error"}` into a bare Error.
import { Ollama } from 'ollama';
import type { ChatResponse } from 'ollama';
import { CallPolicy, checkBaseUrl, currentKey, errorMessage, parseJson, truncate } from './call-policy.ts';
import type { ApiKeySource, Call, CallPolicyOptions, Classifier } from './call-policy.ts';
import type { ChatChunk, ChatProvider, ChatRequest, ModelInfo } from './provider.ts';

export interface OllamaOptions extends CallPolicyOptions {
  /** Provider id, default 'ollama'. */
  id?: string;
  /** Where Ollama listens, e.g. http://127.0.0.1:11434 (no /v1: that is the OpenAI-compatible API). */
  baseUrl: string;
  /** Sent as a bearer token when set (Ollama behind an authenticating proxy, or ollama.com). */
  apiKey?: ApiKeySource;
}

export class OllamaProvider implements ChatProvider {
  readonly id: string;
  readonly baseUrl: string;
  readonly #policy: CallPolicy;
  readonly #apiKey: ApiKeySource;

  constructor(options: OllamaOptions) {
    this.id = options.id ?? 'ollama';
    this.baseUrl = checkBaseUrl(this.id, options.baseUrl);
    this.#policy = new CallPolicy(this.id, this.baseUrl, options);
    this.#apiKey = options.apiKey;
  }

  async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
    return this.#policy.run(signal, this.#classify, async (call) => {
      const client = await this.#client(call, null);
      const { models } = await client.list();
      if (!Array.isArray(models)) throw this.#policy.error('PROVIDER_BAD_RESPONSE', 'malformed model list: no models array');
      return models
        .filter((m) => typeof m?.name === 'string')
        .map((m) => ({ id: m.name, provider: this.id, ownedBy: typeof m.details?.family === 'string' ? m.details.family : null }));
    });
  }

  streamChat(request: ChatRequest): AsyncIterable<ChatChunk> {
    return this.#policy.stream(request.signal, request.model, this.#classify, async (call) => {
      const client = await this.#client(call, request.model);
      const params = request.params;
      const options: Record<string, number> = {};
      if (params?.temperature !== undefined) options.temperature = params.temperature;
      if (params?.topP !== undefined) options.top_p = params.topP;
      if (params?.maxTokens !== undefined) options.num_predict = params.maxTokens;
      const stream = await client.chat({
        model: request.model,
        messages: request.messages.map(({ role, content }) => ({ role, content })),
        stream: true,
        ...(Object.keys(options).length > 0 ? { options } : {}),
      });
      return chunks(stream, request.model);
    });
  }

  async #client(call: Call, model: string | null): Promise<Ollama> {
    const apiKey = await currentKey(this.#apiKey);
    this.#policy.secret(apiKey);
    return new Ollama({
      host: this.baseUrl,
      fetch: this.#guard(call, model),
      ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}),
    });
  }

  #guard(call: Call, model: string | null): typeof fetch {
    const policy = this.#policy;
    return async (input, init) => {
      const response = await call.fetch(input, init);
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw policy.httpError(response.status, response.headers, errorMessage(parseJson(text)) ?? (truncate(text.trim()) || null), model);
      }
      if (!response.body || !(response.headers.get('content-type') ?? '').includes('ndjson')) return response;
      const decoder = new TextDecoder();
      const encoder = new TextEncoder();
      let buffer = '';
      const check = (line: string, controller: TransformStreamDefaultController<Uint8Array>): boolean => {
        if (line.trim() === '') return true;
        const value = parseJson(line);
        if (value === undefined || typeof value !== 'object' || value === null) {
          controller.error(policy.error('PROVIDER_BAD_RESPONSE', `malformed stream chunk: ${truncate(line, 120)}`, { status: response.status }));
          return false;
        }
        if ('error' in value) {
          controller.error(policy.error('PROVIDER_UNAVAILABLE', `provider reported an error mid-stream: ${errorMessage(value) ?? truncate(line, 120)}`, { status: response.status }));
          return false;
        }
        controller.enqueue(encoder.encode(`${line}\n`));
        return true;
      };
      const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          buffer += decoder.decode(chunk, { stream: true });
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) if (!check(line, controller)) return;
        },
        flush(controller) {
          buffer += decoder.decode();
          check(buffer, controller);
        },
      }));
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
  }

  #classify: Classifier = (error) => {
    if (error instanceof Error && error.message === 'Did not receive done or success response in stream.') {
      return this.#policy.error('PROVIDER_UNAVAILABLE', 'stream ended early');
    }
    return null;
  };
}

async function* chunks(stream: AsyncIterable<ChatResponse>, requested: string): AsyncGenerator<ChatChunk, void, undefined> {
  for await (const part of stream) {
    const text = part.message?.content;
    if (typeof text === 'string' && text !== '') yield { type: 'delta', text };
    if (part.done) {
      const prompt = typeof part.prompt_eval_count === 'number' ? part.prompt_eval_count : 0;
      const completion = typeof part.eval_count === 'number' ? part.eval_count : 0;
      yield {
        type: 'done',
        finishReason: typeof part.done_reason === 'string' && part.done_reason !== '' ? part.done_reason : 'stop',
        usage: { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion },
        model: typeof part.model === 'string' && part.model !== '' ? part.model : requested,
      };
      return;
    }
  }
}
