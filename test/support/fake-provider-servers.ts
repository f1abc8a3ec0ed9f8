// Real HTTP servers on loopback speaking the wire protocols of Anthropic's Messages API (SSE), Google's
// Gemini API (streamGenerateContent?alt=sse, models list) and Ollama's native API (/api/chat NDJSON,
// /api/tags). The behaviour is chosen by the model name, which ends in one of:
//   fake-echo            "You said: <last user message>" in word chunks, a clean end with usage
//   fake-slow[-<ms>]     like echo, waiting <ms> (default 100) before each chunk
//   fake-500             HTTP 500 with the vendor's error body
//   fake-overloaded      Anthropic: HTTP 529 overloaded_error; others: HTTP 503
//   fake-429             429 with Retry-After: 1 on the first request of each distinct conversation, then echo
//   fake-429-forever     always 429 with Retry-After: 120
//   fake-disconnect      2 deltas, then the connection is closed mid-body
//   fake-malformed       1 delta, then a chunk that is not JSON
//   fake-error           1 delta, then the vendor's in-stream error (Anthropic `event: error`, overloaded)
//   fake-truncated       1 delta, then a clean end of the body without the vendor's final marker
//   fake-hang            headers and 1 delta, then nothing
//   anything else        404 in the vendor's words
// Models are named 'claude-fake-echo', 'gemini-fake-echo' and 'llama-fake-echo' (any prefix works).
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { write, writeFlushed } from './response-writes.ts';

export type Vendor = 'anthropic' | 'gemini' | 'ollama';

export interface FakeProviderServerOptions {
  /** When set, requests need this key (x-api-key / x-goog-api-key / Bearer), else 401 quoting the key given. */
  requireApiKey?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeProviderServer {
  /** The base URL to configure (Anthropic: origin, the SDK adds /v1; Gemini: origin; Ollama: origin). */
  url: string;
  requests: RecordedRequest[];
  readonly closedEarly: number;
  waitForClosedEarly(count?: number): Promise<void>;
  close(): Promise<void>;
}

const BEHAVIOURS = ['fake-echo', 'fake-slow', 'fake-slow-20', 'fake-slow-50', 'fake-500', 'fake-overloaded', 'fake-429', 'fake-429-forever', 'fake-disconnect', 'fake-malformed', 'fake-error', 'fake-truncated', 'fake-hang'];
const PREFIX: Record<Vendor, string> = { anthropic: 'claude-', gemini: 'gemini-', ollama: 'llama-' };
export const fakeModels = (vendor: Vendor): string[] => BEHAVIOURS.map((b) => `${PREFIX[vendor]}${b}`);

interface Message { role: string; content: string }
interface Turn { messages: Message[]; maxTokens: number | null }
interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export async function startFakeProviderServer(vendor: Vendor, options: FakeProviderServerOptions = {}): Promise<FakeProviderServer> {
  const requests: RecordedRequest[] = [];
  const seen429 = new Set<string>();
  const closeWaiters: { count: number; resolve: () => void }[] = [];
  let closedEarly = 0;
  let shuttingDown = false;
  const protocol = PROTOCOLS[vendor];

  const server: Server = createServer((req, res) => {
    res.on('close', () => {
      if (res.writableFinished || shuttingDown || (res as { deliberate?: boolean }).deliberate) return;
      closedEarly++;
      for (const waiter of closeWaiters.filter((w) => closedEarly >= w.count)) {
        closeWaiters.splice(closeWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw === '' ? null : raw;
      try {
        if (raw !== '') body = JSON.parse(raw);
      } catch { /* keep the raw text */ }
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });
      const ctx: Context = { req, res, path: url.pathname, query: url.searchParams, body };
      const run = async (): Promise<void> => {
        if (options.requireApiKey !== undefined) {
          const given = protocol.key(ctx);
          if (given !== options.requireApiKey) return protocol.error(res, 401, `invalid x-api-key: ${given ?? '(none)'}`);
        }
        await protocol.handle(ctx, (turn) => behave(ctx, protocol, turn, seen429));
      };
      run().catch((error: unknown) => {
        if (!res.headersSent) protocol.error(res, 500, String(error));
        else res.destroy();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get closedEarly() {
      return closedEarly;
    },
    waitForClosedEarly(count = 1) {
      if (closedEarly >= count) return Promise.resolve();
      return new Promise<void>((resolve) => closeWaiters.push({ count, resolve }));
    },
    async close() {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Behaviour, shared by the three protocols

interface Protocol {
  key(ctx: Context): string | undefined;
  /** Routes the request; a chat request calls `chat` with the parsed turn. */
  handle(ctx: Context, chat: (turn: Turn & { model: string }) => Promise<void>): Promise<void>;
  error(res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void;
  /** Starts a 200 stream. */
  head(res: ServerResponse): void;
  start(model: string, promptTokens: number): string;
  delta(model: string, text: string): string;
  end(model: string, finish: 'stop' | 'length', promptTokens: number, completionTokens: number): string;
  streamError(): string;
  malformed(): string;
}

async function behave(ctx: Context, protocol: Protocol, turn: Turn & { model: string }, seen429: Set<string>): Promise<void> {
  const { res } = ctx;
  const match = /fake-(echo|slow|500|overloaded|429-forever|429|disconnect|malformed|error|truncated|hang)(?:-(\d+))?$/.exec(turn.model);
  const behaviour = match?.[1] ?? '';
  const prompt = turn.messages.reduce((sum, m) => sum + m.content.split(/\s+/).filter(Boolean).length, 0);
  const last = [...turn.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const words = `You said: ${last}`.match(/\s*\S+/g) ?? [];
  const streamWords = async (delayMs: number): Promise<void> => {
    const sent = turn.maxTokens !== null ? words.slice(0, turn.maxTokens) : words;
    protocol.head(res);
    await write(res, protocol.start(turn.model, prompt));
    for (const word of sent) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (res.destroyed) return;
      await write(res, protocol.delta(turn.model, word));
    }
    res.end(protocol.end(turn.model, sent.length < words.length ? 'length' : 'stop', prompt, sent.length));
  };
  const firstWord = async (): Promise<void> => {
    protocol.head(res);
    await write(res, protocol.start(turn.model, prompt));
    await write(res, protocol.delta(turn.model, 'Hello'));
  };
  switch (behaviour) {
    case 'echo':
      return streamWords(0);
    case 'slow':
      return streamWords(Number(match?.[2] ?? 100));
    case '500':
      return protocol.error(res, 500, 'Internal server error');
    case 'overloaded':
      return protocol.error(res, 529, 'Overloaded');
    case '429':
    case '429-forever': {
      const key = JSON.stringify(turn.messages);
      if (behaviour === '429-forever' || !seen429.has(key)) {
        seen429.add(key);
        return protocol.error(res, 429, 'Rate limit exceeded', { 'retry-after': behaviour === '429' ? '1' : '120' });
      }
      return streamWords(0);
    }
    case 'disconnect':
      protocol.head(res);
      await write(res, protocol.start(turn.model, prompt));
      await write(res, protocol.delta(turn.model, 'Partial'));
      await writeFlushed(res, protocol.delta(turn.model, ' answer'));
      (res as { deliberate?: boolean }).deliberate = true;
      res.socket?.end(); // a FIN after what was written: the chunked body is cut short
      return;
    case 'malformed':
      await firstWord();
      res.end(protocol.malformed());
      return;
    case 'error':
      await firstWord();
      res.end(protocol.streamError());
      return;
    case 'truncated':
      await firstWord();
      res.end();
      return;
    case 'hang':
      await firstWord();
      return;
    default:
      return protocol.error(res, 404, `model: ${turn.model} not found`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Anthropic Messages (https://docs.anthropic.com/en/api/messages-streaming)

const sseEvent = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

const anthropic: Protocol = {
  // The API takes x-api-key; the SDK (1.x) sends the key as a bearer token.
  key: (ctx) => header(ctx.req.headers['x-api-key']) ?? /^Bearer (.*)$/.exec(ctx.req.headers.authorization ?? '')?.[1],
  async handle(ctx, chat) {
    if (ctx.req.method === 'GET' && ctx.path === '/v1/models') {
      return json(ctx.res, 200, {
        data: fakeModels('anthropic').map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' })),
        has_more: false, first_id: null, last_id: null,
      });
    }
    if (ctx.req.method !== 'POST' || ctx.path !== '/v1/messages') return anthropic.error(ctx.res, 404, 'Not found');
    const body = record(ctx.body);
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
      return anthropic.error(ctx.res, 400, 'model, messages and max_tokens are required');
    }
    const messages = parseMessages(body.messages);
    if (!messages) return anthropic.error(ctx.res, 400, 'messages: bad shape');
    if (typeof body.system === 'string') messages.unshift({ role: 'system', content: body.system });
    return chat({ model: body.model, messages, maxTokens: body.max_tokens });
  },
  error(res, status, message, headers = {}) {
    const type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error'
      : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    json(res, status, { type: 'error', error: { type, message } }, headers);
  },
  head: sseHead,
  start: (model, promptTokens) => sseEvent('message_start', {
    type: 'message_start',
    message: { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: promptTokens, output_tokens: 1 } },
  }) + sseEvent('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) + 'event: ping\ndata: {"type": "ping"}\n\n',
  delta: (_model, text) => sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
  end: (_model, finish, _prompt, completion) => sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 })
    + sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: finish === 'stop' ? 'end_turn' : 'max_tokens', stop_sequence: null }, usage: { output_tokens: completion } })
    + sseEvent('message_stop', { type: 'message_stop' }),
  streamError: () => sseEvent('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
  malformed: () => 'event: content_block_delta\ndata: {not json\n\n',
};

// ---------------------------------------------------------------------------------------------------------
// Google Gemini API (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent)

const googleStatus = (status: number): string => ({ 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 503: 'UNAVAILABLE' } as Record<number, string>)[status] ?? 'INTERNAL';

const gemini: Protocol = {
  key: (ctx) => header(ctx.req.headers['x-goog-api-key']) ?? ctx.query.get('key') ?? undefined,
  async handle(ctx, chat) {
    if (ctx.req.method === 'GET' && ctx.path === '/v1beta/models') {
      return json(ctx.res, 200, {
        models: [
          ...fakeModels('gemini').map((id) => ({ name: `models/${id}`, displayName: id, supportedGenerationMethods: ['generateContent', 'countTokens'] })),
          { name: 'models/text-embedding-fake', displayName: 'embeddings', supportedGenerationMethods: ['embedContent'] },
        ],
      });
    }
    const route = /^\/v1beta\/models\/([^/:]+):streamGenerateContent$/.exec(ctx.path);
    if (ctx.req.method !== 'POST' || !route) return gemini.error(ctx.res, 404, 'Not found');
    if (ctx.query.get('alt') !== 'sse') return gemini.error(ctx.res, 400, 'this fake streams with alt=sse only');
    const body = record(ctx.body);
    if (!Array.isArray(body.contents)) return gemini.error(ctx.res, 400, 'contents is required');
    const messages: Message[] = [];
    const system = record(body.systemInstruction);
    if (Array.isArray(system.parts)) messages.push({ role: 'system', content: system.parts.map((p) => String(record(p).text ?? '')).join('') });
    for (const content of body.contents) {
      const c = record(content);
      if (!Array.isArray(c.parts)) return gemini.error(ctx.res, 400, 'contents[].parts is required');
      messages.push({ role: c.role === 'model' ? 'assistant' : 'user', content: c.parts.map((p) => String(record(p).text ?? '')).join('') });
    }
    const config = record(body.generationConfig);
    return chat({ model: decodeURIComponent(route[1]!), messages, maxTokens: typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : null });
  },
  error(res, status, message, headers = {}) {
    const details = status === 429
      ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${headers['retry-after'] ?? '1'}s` }]
      : undefined;
    json(res, status, { error: { code: status, message, status: googleStatus(status), ...(details ? { details } : {}) } }, headers);
  },
  head: sseHead,
  start: () => '',
  delta: (model, text) => `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0 }], modelVersion: model })}\r\n\r\n`,
  end: (model, finish, prompt, completion) => `data: ${JSON.stringify({
    candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: finish === 'stop' ? 'STOP' : 'MAX_TOKENS', index: 0 }],
    usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: completion, totalTokenCount: prompt + completion },
    modelVersion: model,
  })}\r\n\r\n`,
  streamError: () => `data: ${JSON.stringify({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } })}\r\n\r\n`,
  malformed: () => 'data: {not json\r\n\r\n',
};

// ---------------------------------------------------------------------------------------------------------
// Ollama native API (https://github.com/ollama/ollama/blob/main/docs/api.md)

const ndjson = (value: unknown): string => `${JSON.stringify(value)}\n`;

const ollama: Protocol = {
  key: (ctx) => /^Bearer (.*)$/.exec(ctx.req.headers.authorization ?? '')?.[1],
  async handle(ctx, chat) {
    if (ctx.req.method === 'GET' && ctx.path === '/api/tags') {
      return json(ctx.res, 200, {
        models: fakeModels('ollama').map((name) => ({ name, model: name, modified_at: '2025-01-01T00:00:00Z', size: 1, digest: 'sha256:0', details: { family: 'llama' } })),
      });
    }
    if (ctx.req.method !== 'POST' || ctx.path !== '/api/chat') return ollama.error(ctx.res, 404, '404 page not found');
    const body = record(ctx.body);
    if (typeof body.model !== 'string') return ollama.error(ctx.res, 400, 'model is required');
    const messages = parseMessages(body.messages);
    if (!messages) return ollama.error(ctx.res, 400, 'messages: bad shape');
    const options = record(body.options);
    if (body.stream === false) return ollama.error(ctx.res, 400, 'this fake streams only');
    return chat({ model: body.model, messages, maxTokens: typeof options.num_predict === 'number' ? options.num_predict : null });
  },
  error(res, status, message, headers = {}) {
    json(res, status === 529 ? 503 : status, { error: status === 404 ? `model "${message.replace(/^model: | not found$/g, '')}" not found, try pulling it first` : message }, headers);
  },
  head(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
  },
  start: () => '',
  delta: (model, text) => ndjson({ model, created_at: new Date().toISOString(), message: { role: 'assistant', content: text }, done: false }),
  end: (model, finish, prompt, completion) => ndjson({
    model, created_at: new Date().toISOString(), message: { role: 'assistant', content: '' }, done: true, done_reason: finish,
    total_duration: 1, load_duration: 1, prompt_eval_count: prompt, prompt_eval_duration: 1, eval_count: completion, eval_duration: 1,
  }),
  streamError: () => ndjson({ error: 'an error was encountered while running the model: unexpected EOF' }),
  malformed: () => '{not json\n',
};

const PROTOCOLS: Record<Vendor, Protocol> = { anthropic, gemini, ollama };

// ---------------------------------------------------------------------------------------------------------
// Helpers

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
}

function parseMessages(value: unknown): Message[] | null {
  if (!Array.isArray(value)) return null;
  const messages: Message[] = [];
  for (const item of value) {
    const { role, content } = record(item);
    if (typeof role !== 'string' || typeof content !== 'string') return null;
    messages.push({ role, content });
  }
  return messages;
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
}

function json(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
