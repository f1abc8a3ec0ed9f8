// A real HTTP server on loopback that speaks the OpenAI embeddings protocol (`POST /v1/embeddings`),
// with behaviour chosen by the model name:
//   fake-embed[-<dims>]      one vector per input (default 8 dims), from the test embedder: deterministic
//   fake-embed-shuffled      like fake-embed, with `data` in reverse order (each entry keeps its index)
//   fake-embed-429           429 Retry-After: 7
//   fake-embed-500           HTTP 500 with an error body that quotes the inputs
//   fake-embed-malformed     200 with a body that is not JSON
//   fake-embed-short         one vector fewer than inputs
//   fake-embed-wrong-dim     the last vector one dimension short
//   fake-embed-strings       numbers sent as strings
//   fake-embed-too-long      400 "This model's maximum context length is 8192 tokens…"
//   fake-embed-hang          headers never sent, until the client or close() ends the connection
//   anything else            404 model not found
// In tests: `const server = await startFakeEmbeddingsServer(); … server.url …; await server.close()`.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashedBagOfWords } from './test-embedder.ts';

export interface FakeEmbeddingsServerOptions {
  /** When set, requests need `Authorization: Bearer <requireApiKey>`, else 401 quoting the key given. */
  requireApiKey?: string;
}

export interface RecordedEmbeddingsRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeEmbeddingsServer {
  /** Base URL including /v1. */
  url: string;
  requests: RecordedEmbeddingsRequest[];
  close(): Promise<void>;
}

export async function startFakeEmbeddingsServer(options: FakeEmbeddingsServerOptions = {}): Promise<FakeEmbeddingsServer> {
  const requests: RecordedEmbeddingsRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch { /* keep the text */ }
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ path, headers: req.headers, body });
      if (options.requireApiKey !== undefined) {
        const given = /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1];
        if (given !== options.requireApiKey) return json(res, 401, { error: { message: `Incorrect API key provided: ${given ?? '(none)'}`, code: 'invalid_api_key' } });
      }
      if (req.method !== 'POST' || path !== '/v1/embeddings') return json(res, 404, { error: { message: 'not found' } });
      respond(res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function respond(res: ServerResponse, body: unknown): void {
  const { model, input } = (typeof body === 'object' && body !== null ? body : {}) as { model?: unknown; input?: unknown };
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || !inputs.every((text) => typeof text === 'string')) {
    return json(res, 400, { error: { message: 'input must be a string or an array of strings' } });
  }
  const name = typeof model === 'string' ? model : '';
  const embed = (dims: number) => inputs.map((text, index) => ({ object: 'embedding', index, embedding: Array.from(hashedBagOfWords(text, dims)) }));
  const list = (data: unknown[]) => json(res, 200, { object: 'list', data, model: name, usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } });
  switch (name) {
    case 'fake-embed-shuffled': return list(embed(8).reverse());
    case 'fake-embed-429': return json(res, 429, { error: { message: 'Rate limit reached', code: 'rate_limit_exceeded' } }, { 'retry-after': '7' });
    case 'fake-embed-500': return json(res, 500, { error: { message: `failed on: ${inputs.join(' | ')}` } });
    case 'fake-embed-malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end('{"object":"list","data":[{"embedding":[0.1,');
    case 'fake-embed-short': return list(embed(8).slice(1));
    case 'fake-embed-wrong-dim': {
      const data = embed(8);
      data[data.length - 1]!.embedding.pop();
      return list(data);
    }
    case 'fake-embed-strings': return list(embed(8).map((entry) => ({ ...entry, embedding: entry.embedding.map(String) })));
    case 'fake-embed-too-long':
      return json(res, 400, { error: { message: "This model's maximum context length is 8192 tokens, however you requested 9000 tokens", type: 'invalid_request_error' } });
    case 'fake-embed-hang': return; // never answers
    default: {
      const match = /^fake-embed(?:-(\d+))?$/.exec(name);
      if (match) return list(embed(Number(match[1] ?? 8)));
      return json(res, 404, { error: { message: 'model not found', code: 'model_not_found' } });
    }
  }
}

function json(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
