// A real HTTP server on loopback that speaks the OpenAI chat-completions protocol (SSE streaming), with
// behaviour chosen by the model name so that a separate server process can be steered per request:
//   fake-echo              "You said: <last user message>" in word chunks, finish 'stop', usage, [DONE]
//   fake-slow[-<ms>]       like echo, waiting <ms> (default 100) before each chunk
//   fake-500               HTTP 500 with an OpenAI-style error body
//   fake-429               429 Retry-After: 1 on the first request of each distinct conversation, then echo
//   fake-429-forever       always 429 Retry-After: 120
//   fake-disconnect        2 deltas, then the connection is closed mid-body
//   fake-malformed         1 delta, then `data: {not json`
//   fake-hang              headers and 1 delta, then nothing
//   fake-long[-<n>]        n word chunks (default 1000), as fast as the client reads
//   anything else          404 {error:{message:'model not found'}}
//
// In tests: `const server = await start(); ... server.url ...; await server.close()`.
// Standalone: `node test/support/fake-openai-server.ts --port 0 [--api-key KEY]` prints `listening <port>`.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { write, writeFlushed } from './response-writes.ts';

export interface FakeOpenAiServerOptions {
  port?: number;
  host?: string;
  /** When set, every /v1 request needs `Authorization: Bearer <requireApiKey>`, else 401. */
  requireApiKey?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, the raw text when it is not JSON, or null when empty. */
  body: unknown;
}

export interface FakeOpenAiServer {
  /** Base URL including /v1, e.g. http://127.0.0.1:12345/v1. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Responses whose connection the client closed before the server finished them. */
  readonly closedEarly: number;
  /** Resolves once closedEarly reaches `count` (no timeout of its own: race it or use the test timeout). */
  waitForClosedEarly(count?: number): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_MODELS = ['fake-echo', 'fake-slow', 'fake-500', 'fake-429', 'fake-disconnect', 'fake-malformed', 'fake-hang', 'fake-long'];
/** Parameterised variants listed too, so a platform that checks models against the list accepts them. */
const LISTED_VARIANTS = ['fake-slow-20', 'fake-slow-50', 'fake-slow-200', 'fake-slow-2000', 'fake-long-1000', 'fake-429-forever'];

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  max_tokens?: unknown;
}

interface Message { role: string; content: string }

export async function start(options: FakeOpenAiServerOptions = {}): Promise<FakeOpenAiServer> {
  const requests: RecordedRequest[] = [];
  const seen429 = new Set<string>();
  const closeWaiters: { count: number; resolve: () => void }[] = [];
  let closedEarly = 0;
  let shuttingDown = false;
  let sequence = 0;

  const server: Server = createServer((req, res) => {
    let serverDestroyed = false;
    res.on('close', () => {
      if (res.writableFinished || serverDestroyed || shuttingDown) return;
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
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const context: Context = {
        req, res, body, id: `chatcmpl-fake-${++sequence}`,
        destroy: () => {
          serverDestroyed = true;
          req.socket.destroy();
        },
      };
      handle(context, path, options, seen429).catch((error: unknown) => {
        if (!res.headersSent) json(res, 500, { error: { message: String(error), type: 'server_error' } });
        else res.destroy();
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/v1`,
    port,
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

export { start as startFakeOpenAiServer };

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  body: unknown;
  id: string;
  /** Destroys the socket on purpose (not counted in closedEarly). */
  destroy(): void;
}

async function handle(ctx: Context, path: string, options: FakeOpenAiServerOptions, seen429: Set<string>): Promise<void> {
  const { req, res } = ctx;
  if (!path.startsWith('/v1/')) return json(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
  if (options.requireApiKey !== undefined) {
    const given = /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1];
    if (given !== options.requireApiKey) {
      // Like some real providers, the message quotes the key it got: clients must not pass it on.
      return json(res, 401, { error: { message: `Incorrect API key provided: ${given ?? '(none)'}`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
  }
  if (req.method === 'GET' && path === '/v1/models') {
    return json(res, 200, { object: 'list', data: [...FAKE_MODELS, ...LISTED_VARIANTS].map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })) });
  }
  if (req.method !== 'POST' || path !== '/v1/chat/completions') {
    return json(res, 404, { error: { message: 'not found', type: 'invalid_request_error' } });
  }
  const body = (typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {}) as ChatBody;
  const model = typeof body.model === 'string' ? body.model : '';
  const messages = parseMessages(body.messages);
  if (!messages) return json(res, 400, { error: { message: 'messages must be an array of {role, content}', type: 'invalid_request_error' } });

  let match: RegExpExecArray | null;
  if (model === 'fake-echo') return echo(ctx, body, model, messages, 0);
  if ((match = /^fake-slow(?:-(\d+))?$/.exec(model))) return echo(ctx, body, model, messages, Number(match[1] ?? 100));
  if (model === 'fake-500') return json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
  if (model === 'fake-429' || model === 'fake-429-forever') {
    const key = JSON.stringify(messages);
    if (model === 'fake-429-forever' || !seen429.has(key)) {
      seen429.add(key);
      const retryAfter = model === 'fake-429' ? '1' : '120';
      return json(res, 429, { error: { message: 'Rate limit reached, please retry later.', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': retryAfter });
    }
    return echo(ctx, body, model, messages, 0);
  }
  if (model === 'fake-disconnect') {
    sseHead(res);
    await write(res, sse(chunk(ctx.id, model, { role: 'assistant', content: 'Partial' })));
    await writeFlushed(res, sse(chunk(ctx.id, model, { content: ' answer' })));
    // The connection drops mid-response: the socket is closed after everything written so far is
    // flushed (a FIN, not a reset), so the client reads both deltas and then finds the chunked body
    // cut short. No timer decides whether the deltas arrive first.
    res.socket?.end();
    return;
  }
  if (model === 'fake-malformed') {
    sseHead(res);
    await write(res, sse(chunk(ctx.id, model, { role: 'assistant', content: 'Hello' })));
    await write(res, 'data: {not json\n\n');
    res.end();
    return;
  }
  if (model === 'fake-hang') {
    sseHead(res);
    await write(res, sse(chunk(ctx.id, model, { role: 'assistant', content: 'Hello' })));
    return; // and nothing more, until the client or close() ends the connection
  }
  if ((match = /^fake-long(?:-(\d+))?$/.exec(model))) {
    const count = Number(match[1] ?? 1000);
    const words = Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);
    return stream(ctx, body, model, messages, words, 0);
  }
  return json(res, 404, { error: { message: 'model not found', type: 'invalid_request_error', code: 'model_not_found' } });
}

async function echo(ctx: Context, body: ChatBody, model: string, messages: Message[], delayMs: number): Promise<void> {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const text = `You said: ${last}`;
  const words = text.match(/\s*\S+/g) ?? [];
  const rest = text.slice(words.join('').length);
  if (rest && words.length > 0) words[words.length - 1] += rest;
  return stream(ctx, body, model, messages, words, delayMs);
}

async function stream(ctx: Context, body: ChatBody, model: string, messages: Message[], pieces: string[], delayMs: number): Promise<void> {
  const { res } = ctx;
  const maxTokens = typeof body.max_tokens === 'number' && body.max_tokens > 0 ? body.max_tokens : Infinity;
  const sent = pieces.slice(0, maxTokens);
  const finishReason = sent.length < pieces.length ? 'length' : 'stop';
  const usage = {
    prompt_tokens: messages.reduce((sum, m) => sum + countWords(m.content), 0),
    completion_tokens: sent.length,
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;

  if (body.stream !== true) {
    if (delayMs > 0) await delay(delayMs);
    return json(ctx.res, 200, {
      id: ctx.id, object: 'chat.completion', created: now(), model,
      choices: [{ index: 0, message: { role: 'assistant', content: sent.join('') }, finish_reason: finishReason }],
      usage,
    });
  }

  sseHead(res);
  await write(res, ': fake-openai-server\n\n');
  await write(res, sse(chunk(ctx.id, model, { role: 'assistant', content: '' })));
  for (const piece of sent) {
    if (delayMs > 0) await delay(delayMs);
    if (res.destroyed) return;
    await write(res, sse(chunk(ctx.id, model, { content: piece })));
  }
  if (res.destroyed) return;
  await write(res, sse(chunk(ctx.id, model, {}, finishReason)));
  if (body.stream_options?.include_usage === true) {
    await write(res, sse({ id: ctx.id, object: 'chat.completion.chunk', created: now(), model, choices: [], usage }));
  }
  res.end('data: [DONE]\n\n');
}

function chunk(id: string, model: string, delta: Record<string, string>, finishReason: string | null = null): object {
  return { id, object: 'chat.completion.chunk', created: now(), model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

function sse(payload: object): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

function json(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function parseMessages(value: unknown): Message[] | null {
  if (!Array.isArray(value)) return null;
  const messages: Message[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return null;
    const { role, content } = item as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || typeof content !== 'string') return null;
    messages.push({ role, content });
  }
  return messages;
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

// Standalone mode.
if (import.meta.main) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
  const server = await start({
    port: Number(arg('--port') ?? 0),
    host: arg('--host') ?? '127.0.0.1',
    requireApiKey: arg('--api-key'),
  });
  process.stdout.write(`listening ${server.port}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
