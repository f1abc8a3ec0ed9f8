import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleProvider, parseRetryAfter } from '../../../src/infra/ai/openai-compatible.ts';
import type { OpenAiCompatibleOptions } from '../../../src/infra/ai/openai-compatible.ts';
import { ProviderError } from '../../../src/infra/ai/provider.ts';
import type { ChatChunk, ChatMessage, ChatRequest } from '../../../src/infra/ai/provider.ts';
import { start } from '../../support/fake-openai-server.ts';
import type { FakeOpenAiServer } from '../../support/fake-openai-server.ts';

let server: FakeOpenAiServer;
beforeAll(async () => {
  server = await start();
});
afterAll(async () => {
  await server.close();
});

function provider(options: Partial<OpenAiCompatibleOptions> = {}): OpenAiCompatibleProvider {
  return new OpenAiCompatibleProvider({ baseUrl: server.url, retryBaseMs: 5, ...options });
}

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

interface Outcome { deltas: string[]; chunks: ChatChunk[]; error: ProviderError | null }

async function run(chat: OpenAiCompatibleProvider, request: ChatRequest, onDelta?: (text: string) => void): Promise<Outcome> {
  const outcome: Outcome = { deltas: [], chunks: [], error: null };
  try {
    for await (const chunk of chat.streamChat(request)) {
      outcome.chunks.push(chunk);
      if (chunk.type === 'delta') {
        outcome.deltas.push(chunk.text);
        onDelta?.(chunk.text);
      }
    }
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    outcome.error = error;
  }
  return outcome;
}

function requestsFor(model: string) {
  return server.requests.filter((r) => (r.body as { model?: string } | null)?.model === model);
}

/** Rejects after `ms`, so that a wait on the server can never hang a test. */
function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
    }),
  ]);
}

let unique = 0;
const fresh = (text: string): string => `${text} #${++unique} ${Math.random()}`;

describe('OpenAiCompatibleProvider with a key read at every request (runtime keys)', () => {
  it('sends the key the function gives now, and redacts every key it used', async () => {
    const guarded = await start({ requireApiKey: 'sk-now-right' });
    try {
      let key: string | undefined = 'sk-old-SECRET-111';
      const chat = provider({ baseUrl: guarded.url, apiKey: async () => key, maxRetries: 0 });
      const failed = await run(chat, { model: 'fake-echo', messages: user('hi') });
      expect(failed.error).toMatchObject({ code: 'PROVIDER_AUTH' });
      expect(failed.error!.message).not.toContain('sk-old-SECRET-111');
      key = 'sk-now-right';
      expect((await run(chat, { model: 'fake-echo', messages: user('hi') })).error).toBeNull();
      expect(guarded.requests.at(-1)!.headers.authorization).toBe('Bearer sk-now-right');
    } finally {
      await guarded.close();
    }
  });
});

describe('OpenAiCompatibleProvider.streamChat', () => {
  it('streams word deltas, then one done with finish reason, usage and model', async () => {
    const outcome = await run(provider(), {
      model: 'fake-echo',
      messages: [{ role: 'system', content: 'Be brief please' }, ...user('hello brave new world')],
    });
    expect(outcome.error).toBeNull();
    expect(outcome.deltas.length).toBeGreaterThanOrEqual(3);
    expect(outcome.deltas.join('')).toBe('You said: hello brave new world');
    expect(outcome.chunks.filter((c) => c.type === 'done')).toHaveLength(1);
    expect(outcome.chunks.at(-1)).toEqual({
      type: 'done',
      finishReason: 'stop',
      usage: { promptTokens: 7, completionTokens: outcome.deltas.length, totalTokens: 7 + outcome.deltas.length },
      model: 'fake-echo',
    });
  });

  it('sends the model, messages, parameters, stream options and the bearer key', async () => {
    const before = server.requests.length;
    const messages = user('params please');
    await run(provider({ apiKey: 'sk-test-123' }), { model: 'fake-echo', messages, params: { temperature: 0.2, topP: 0.9, maxTokens: 50 } });
    const [request] = server.requests.slice(before);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(request!.headers.authorization).toBe('Bearer sk-test-123');
    expect(request!.body).toEqual({
      model: 'fake-echo', messages, stream: true, stream_options: { include_usage: true }, temperature: 0.2, top_p: 0.9, max_tokens: 50,
    });
  });

  it('sends no parameters nor authorization when none are given', async () => {
    const before = server.requests.length;
    await run(provider(), { model: 'fake-echo', messages: user('bare') });
    const [request] = server.requests.slice(before);
    expect(request!.headers.authorization).toBeUndefined();
    expect(Object.keys(request!.body as object).sort()).toEqual(['messages', 'model', 'stream', 'stream_options']);
  });

  it("reports the provider's finish reason ('length' when maxTokens cuts the answer)", async () => {
    const outcome = await run(provider(), { model: 'fake-echo', messages: user('one two three four'), params: { maxTokens: 2 } });
    expect(outcome.deltas).toEqual(['You', ' said:']);
    expect(outcome.chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'length' });
  });

  it('retries a 500 and then fails with PROVIDER_UNAVAILABLE (1 + maxRetries requests)', async () => {
    const before = requestsFor('fake-500').length;
    const outcome = await run(provider({ maxRetries: 2 }), { model: 'fake-500', messages: user('boom') });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: 500, provider: 'openai' });
    expect(outcome.error!.message).toContain('The server had an error');
    expect(requestsFor('fake-500').length - before).toBe(3);
  });

  it('honours Retry-After on a 429, then succeeds', async () => {
    const messages = user(fresh('rate me'));
    const before = requestsFor('fake-429').length;
    const started = performance.now();
    const outcome = await run(provider({ maxRetries: 2 }), { model: 'fake-429', messages });
    expect(outcome.error).toBeNull();
    expect(outcome.deltas.join('')).toBe(`You said: ${messages[0]!.content}`);
    expect(requestsFor('fake-429').length - before).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950); // waited the 1 s asked for
  });

  it('fails with PROVIDER_RATE_LIMITED when the retries run out on 429s', async () => {
    const outcome = await run(provider({ maxRetries: 0 }), { model: 'fake-429', messages: user(fresh('no retries')) });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', status: 429, retryAfterMs: 1000 });
  });

  it('fails at once with PROVIDER_RATE_LIMITED and retryAfterMs when Retry-After exceeds the cap', async () => {
    const before = requestsFor('fake-429-forever').length;
    const outcome = await run(provider({ maxRetries: 3, maxRetryAfterMs: 5000 }), { model: 'fake-429-forever', messages: user('again') });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', status: 429, retryAfterMs: 120_000 });
    expect(requestsFor('fake-429-forever').length - before).toBe(1);
  });

  it('fails with PROVIDER_UNAVAILABLE after the deltas on a mid-stream disconnect, without retrying', async () => {
    const before = requestsFor('fake-disconnect').length;
    const outcome = await run(provider({ maxRetries: 2 }), { model: 'fake-disconnect', messages: user('drop me') });
    expect(outcome.deltas).toEqual(['Partial', ' answer']);
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(outcome.error!.message).toContain('stream ended early');
    expect(outcome.chunks.some((c) => c.type === 'done')).toBe(false);
    expect(requestsFor('fake-disconnect').length - before).toBe(1);
  });

  it('fails with PROVIDER_BAD_RESPONSE on a malformed chunk', async () => {
    const before = requestsFor('fake-malformed').length;
    const outcome = await run(provider(), { model: 'fake-malformed', messages: user('garble') });
    expect(outcome.deltas).toEqual(['Hello']);
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_BAD_RESPONSE' });
    expect(outcome.error!.message).toContain('{not json');
    expect(requestsFor('fake-malformed').length - before).toBe(1);
  });

  it('fails with PROVIDER_TIMEOUT when the stream goes idle, and closes the connection', async () => {
    const closed = server.closedEarly;
    const outcome = await run(provider({ idleTimeoutMs: 200 }), { model: 'fake-hang', messages: user('anyone there?') });
    expect(outcome.deltas).toEqual(['Hello']);
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    await within(server.waitForClosedEarly(closed + 1));
  });

  it('fails with PROVIDER_TIMEOUT when no response headers arrive in time', async () => {
    const silent = await listen(createNetServer(() => {})); // accepts, never answers
    try {
      const outcome = await run(provider({ baseUrl: silent.url, connectTimeoutMs: 200, maxRetries: 0 }), { model: 'm', messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    } finally {
      await silent.close();
    }
  });

  it('fails with PROVIDER_CANCELLED on abort, and the server sees the connection close', async () => {
    const closed = server.closedEarly;
    const controller = new AbortController();
    const outcome = await run(
      provider(),
      { model: 'fake-slow-50', messages: user('a long story with many many words in it'), signal: controller.signal },
      () => controller.abort(),
    );
    expect(outcome.deltas).toEqual(['You']);
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
    await within(server.waitForClosedEarly(closed + 1));
  });

  it('cancels a stream that is waiting for data without waiting for the idle timeout', async () => {
    const closed = server.closedEarly;
    const controller = new AbortController();
    const outcome = await run(provider(), { model: 'fake-hang', messages: user('hang'), signal: controller.signal }, () => {
      setImmediate(() => controller.abort());
    });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
    await within(server.waitForClosedEarly(closed + 1));
  });

  it('closes the connection when the consumer stops reading', async () => {
    const closed = server.closedEarly;
    for await (const chunk of provider().streamChat({ model: 'fake-long-100000', messages: user('go') })) {
      if (chunk.type === 'delta') break;
    }
    await within(server.waitForClosedEarly(closed + 1));
  });

  it('fails with PROVIDER_CANCELLED without a request when the signal is already aborted', async () => {
    const before = server.requests.length;
    const outcome = await run(provider(), { model: 'fake-echo', messages: user('never'), signal: AbortSignal.abort() });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
    expect(server.requests.length).toBe(before);
  });

  it('cancels during the backoff between retries', async () => {
    const controller = new AbortController();
    const pending = run(provider({ maxRetries: 2, retryBaseMs: 60_000 }), { model: 'fake-500', messages: user('x'), signal: controller.signal });
    const before = requestsFor('fake-500').length;
    setTimeout(() => controller.abort(), 50);
    const outcome = await within(pending);
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
    expect(requestsFor('fake-500').length - before).toBeLessThanOrEqual(1);
  });

  it('fails with PROVIDER_UNAVAILABLE after retries when the connection is refused', async () => {
    const closedPort = await listen(createNetServer());
    await closedPort.close();
    const outcome = await run(provider({ baseUrl: closedPort.url, maxRetries: 2 }), { model: 'fake-echo', messages: user('hi') });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: null });
    expect(outcome.error!.message).toContain('ECONNREFUSED');
  });

  it('retries connections dropped before the first token (1 + maxRetries attempts)', async () => {
    let connections = 0;
    const dropper = await listen(createNetServer((socket) => {
      connections++;
      socket.destroy();
    }));
    try {
      const outcome = await run(provider({ baseUrl: dropper.url, maxRetries: 2 }), { model: 'fake-echo', messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect(connections).toBe(3);
    } finally {
      await dropper.close();
    }
  });

  it('fails with PROVIDER_AUTH on 401 without leaking the key, and does not retry', async () => {
    const guarded = await start({ requireApiKey: 'sk-right' });
    try {
      const secret = 'sk-wrong-SECRET-987654';
      const outcome = await run(provider({ baseUrl: guarded.url, apiKey: secret }), { model: 'fake-echo', messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_AUTH', status: 401 });
      expect(outcome.error!.message).not.toContain(secret);
      expect(JSON.stringify(outcome.error)).not.toContain(secret);
      expect(String(outcome.error!.stack)).not.toContain(secret);
      expect(guarded.requests).toHaveLength(1);

      const ok = await run(provider({ baseUrl: guarded.url, apiKey: 'sk-right' }), { model: 'fake-echo', messages: user('hi') });
      expect(ok.error).toBeNull();
    } finally {
      await guarded.close();
    }
  });

  it('fails with MODEL_NOT_FOUND on an unknown model, without retrying', async () => {
    const before = requestsFor('no-such-model').length;
    const outcome = await run(provider(), { model: 'no-such-model', messages: user('hi') });
    expect(outcome.error).toMatchObject({ code: 'MODEL_NOT_FOUND', status: 404 });
    expect(outcome.error!.message).toContain('no-such-model');
    expect(requestsFor('no-such-model').length - before).toBe(1);
  });

  it('streams a long answer completely', async () => {
    const outcome = await run(provider(), { model: 'fake-long-5000', messages: user('go') });
    expect(outcome.deltas).toHaveLength(5000);
    expect(outcome.chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop', usage: { completionTokens: 5000 } });
  });
});

describe('OpenAiCompatibleProvider against hand-written wire traffic', () => {
  const SSE = { 'content-type': 'text/event-stream' };
  const line = (payload: object): string => `data: ${JSON.stringify(payload)}\r\n\r\n`;
  const delta = (content: string): string => line({ model: 'wire-1', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

  it('parses a byte-by-byte CRLF stream with comments and usage after the finish chunk', async () => {
    const body = [
      ': hello\r\n\r\n',
      line({ model: 'wire-1', choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] }),
      delta('Grüße '), delta('🌍'), delta('!'),
      line({ model: 'wire-1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      line({ model: 'wire-1', choices: [], usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } }),
      'data: [DONE]\r\n\r\n',
    ].join('');
    const wire = await http(async (_req, res) => {
      res.writeHead(200, SSE);
      for (const byte of Buffer.from(body)) {
        res.write(Uint8Array.of(byte));
        await new Promise((resolve) => setImmediate(resolve));
      }
      res.end();
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.error).toBeNull();
      expect(outcome.deltas).toEqual(['Grüße ', '🌍', '!']);
      expect(outcome.chunks.at(-1)).toEqual({ type: 'done', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 3, totalTokens: 6 }, model: 'wire-1' });
    } finally {
      await wire.close();
    }
  });

  it('accepts a stream that ends after a finish reason without [DONE]', async () => {
    const wire = await http((_req, res) => {
      res.writeHead(200, SSE);
      res.end(delta('ok') + line({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.error).toBeNull();
      expect(outcome.chunks.at(-1)).toEqual({ type: 'done', finishReason: 'stop', usage: null, model: 'wire-1' });
    } finally {
      await wire.close();
    }
  });

  it('fails with PROVIDER_UNAVAILABLE when a stream ends cleanly but early, after a delta', async () => {
    const wire = await http((_req, res) => {
      res.writeHead(200, SSE);
      res.end(delta('half'));
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.deltas).toEqual(['half']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('stream ended early') });
      expect(wire.hits()).toBe(1);
    } finally {
      await wire.close();
    }
  });

  it('retries a stream that ends before the first token', async () => {
    const wire = await http((_req, res, hit) => {
      res.writeHead(200, SSE);
      res.end(hit === 1 ? ': nothing yet\n\n' : delta('second time') + 'data: [DONE]\n\n');
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.error).toBeNull();
      expect(outcome.deltas).toEqual(['second time']);
      expect(wire.hits()).toBe(2);
    } finally {
      await wire.close();
    }
  });

  it('reports an error object sent mid-stream', async () => {
    const wire = await http((_req, res) => {
      res.writeHead(200, SSE);
      res.end(delta('so far') + line({ error: { message: 'upstream overloaded' } }));
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('upstream overloaded') });
    } finally {
      await wire.close();
    }
  });

  it('maps other 4xx to PROVIDER_BAD_RESPONSE with the provider message', async () => {
    const wire = await http((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: "'temperature' must be at most 2" } }));
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi'), params: { temperature: 9 } });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_BAD_RESPONSE', status: 400 });
      expect(outcome.error!.message).toContain("'temperature' must be at most 2");
      expect(wire.hits()).toBe(1);
    } finally {
      await wire.close();
    }
  });

  it('accepts a server that ignores stream: true and answers with one JSON completion', async () => {
    const wire = await http((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'wire-2', choices: [{ index: 0, message: { role: 'assistant', content: 'all at once' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } }));
    });
    try {
      const outcome = await run(provider({ baseUrl: wire.url }), { model: 'wire', messages: user('hi') });
      expect(outcome.chunks).toEqual([
        { type: 'delta', text: 'all at once' },
        { type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 3, totalTokens: 4 }, model: 'wire-2' },
      ]);
    } finally {
      await wire.close();
    }
  });
});

describe('OpenAiCompatibleProvider.listModels', () => {
  it('lists the models with their owner and provider id', async () => {
    const models = await provider({ id: 'local' }).listModels();
    expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['fake-echo', 'fake-slow', 'fake-500', 'fake-429', 'fake-disconnect', 'fake-malformed', 'fake-hang', 'fake-long', 'fake-slow-50']));
    expect(models[0]).toEqual({ id: 'fake-echo', provider: 'local', ownedBy: 'fake' });
  });

  it('fails with PROVIDER_AUTH without the right key', async () => {
    const guarded = await start({ requireApiKey: 'sk-right' });
    try {
      await expect(provider({ baseUrl: guarded.url, apiKey: 'sk-nope-secret' }).listModels()).rejects.toMatchObject({
        code: 'PROVIDER_AUTH',
        message: expect.not.stringContaining('sk-nope-secret'),
      });
    } finally {
      await guarded.close();
    }
  });

  it('fails with PROVIDER_UNAVAILABLE when the provider cannot be reached', async () => {
    const closedPort = await listen(createNetServer());
    await closedPort.close();
    await expect(provider({ baseUrl: closedPort.url, maxRetries: 1 }).listModels()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Mon, 31 Dec 2029 00:00:00 GMT' }), now)).toBe(0);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '1' }), now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(parseRetryAfter(new Headers(), now)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------------------

async function listen(netServer: Server): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  netServer.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve));
  const { port } = netServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      netServer.close(() => resolve());
    }),
  };
}

async function http(handler: (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>) {
  let hits = 0;
  const httpServer = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => void handler(req, res, ++hits));
  });
  const listening = await listen(httpServer);
  return {
    url: listening.url,
    hits: () => hits,
    close: () => {
      httpServer.closeAllConnections();
      return listening.close();
    },
  };
}
