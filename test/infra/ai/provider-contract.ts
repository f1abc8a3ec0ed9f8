// The behaviour every SDK-based adapter owes the port, run against a loopback server speaking the
// vendor's wire protocol (test/support/fake-provider-servers.ts).
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/infra/ai/provider.ts';
import type { ChatChunk, ChatMessage, ChatProvider, ChatRequest } from '../../../src/infra/ai/provider.ts';
import type { CallPolicyOptions, ApiKeySource } from '../../../src/infra/ai/call-policy.ts';
import { fakeModels, startFakeProviderServer } from '../../support/fake-provider-servers.ts';
import type { FakeProviderServer, Vendor } from '../../support/fake-provider-servers.ts';

export interface ContractOptions extends CallPolicyOptions { baseUrl: string; apiKey?: ApiKeySource }
export type MakeProvider = (options: ContractOptions) => ChatProvider;

export interface Outcome { deltas: string[]; chunks: ChatChunk[]; error: ProviderError | null }

export async function run(chat: ChatProvider, request: ChatRequest, onDelta?: (text: string) => void): Promise<Outcome> {
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

export const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

/** Rejects after `ms`, so that a wait on the server can never hang a test. */
export function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
    }),
  ]);
}

/** Listens on loopback; close() also ends the connections the client left open. */
async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }),
  };
}

let unique = 0;
const fresh = (text: string): string => `${text} #${++unique} ${Math.random()}`;

export function describeProviderContract(vendor: Vendor, providerId: string, make: MakeProvider, apiKey: string): () => FakeProviderServer {
  let server: FakeProviderServer;
  const model = (behaviour: string): string => fakeModels(vendor).find((m) => m.endsWith(behaviour))!;
  const provider = (options: Partial<ContractOptions> = {}): ChatProvider => make({ baseUrl: server.url, apiKey, retryBaseMs: 5, ...options });
  const chatRequests = () => server.requests.filter((r) => r.method === 'POST');
  const requestsFor = (m: string) => chatRequests().filter((r) => r.path.includes(m) || (r.body as { model?: string } | null)?.model === m);

  beforeAll(async () => {
    server = await startFakeProviderServer(vendor, { requireApiKey: apiKey });
  });
  afterAll(async () => {
    await server.close();
  });

  describe(`${providerId}: contract of the provider port`, () => {
    it('lists the models with its provider id', async () => {
      const models = await provider().listModels();
      expect(models.map((m) => m.id)).toEqual(expect.arrayContaining([model('fake-echo'), model('fake-500')]));
      expect(models.every((m) => m.provider === providerId)).toBe(true);
    });

    it('streams word deltas, then one done with finish reason, usage and model', async () => {
      const outcome = await run(provider(), { model: model('fake-echo'), messages: [{ role: 'system', content: 'Be brief please' }, ...user('hello brave new world')] });
      expect(outcome.error).toBeNull();
      expect(outcome.deltas.length).toBeGreaterThanOrEqual(3);
      expect(outcome.deltas.join('')).toBe('You said: hello brave new world');
      expect(outcome.chunks.filter((c) => c.type === 'done')).toHaveLength(1);
      expect(outcome.chunks.at(-1)).toEqual({
        type: 'done', finishReason: 'stop', model: model('fake-echo'),
        usage: { promptTokens: 7, completionTokens: outcome.deltas.length, totalTokens: 7 + outcome.deltas.length },
      });
    });

    it("reports 'length' when maxTokens cuts the answer", async () => {
      const outcome = await run(provider(), { model: model('fake-echo'), messages: user('one two three four'), params: { maxTokens: 2 } });
      expect(outcome.deltas).toEqual(['You', ' said:']);
      expect(outcome.chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'length' });
    });

    it('retries a 500, then fails with PROVIDER_UNAVAILABLE (1 + maxRetries requests)', async () => {
      const before = requestsFor(model('fake-500')).length;
      const outcome = await run(provider({ maxRetries: 2 }), { model: model('fake-500'), messages: user('boom') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: 500, provider: providerId });
      expect(outcome.error!.message).toContain('Internal server error');
      expect(requestsFor(model('fake-500')).length - before).toBe(3);
    });

    it('retries an overloaded provider (529 / 503), then fails with PROVIDER_UNAVAILABLE', async () => {
      const before = requestsFor(model('fake-overloaded')).length;
      const outcome = await run(provider({ maxRetries: 1 }), { model: model('fake-overloaded'), messages: user('busy?') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect([529, 503]).toContain(outcome.error!.status);
      expect(requestsFor(model('fake-overloaded')).length - before).toBe(2);
    });

    it('honours the retry delay of a 429, then succeeds', async () => {
      const messages = user(fresh('rate me'));
      const before = requestsFor(model('fake-429')).length;
      const started = performance.now();
      const outcome = await run(provider({ maxRetries: 2 }), { model: model('fake-429'), messages });
      expect(outcome.error).toBeNull();
      expect(outcome.deltas.join('')).toBe(`You said: ${messages[0]!.content}`);
      expect(requestsFor(model('fake-429')).length - before).toBe(2);
      expect(performance.now() - started).toBeGreaterThanOrEqual(950); // waited the 1 s asked for
    });

    it('fails with PROVIDER_RATE_LIMITED and retryAfterMs when the retries run out', async () => {
      const outcome = await run(provider({ maxRetries: 0 }), { model: model('fake-429'), messages: user(fresh('no retries')) });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', status: 429, retryAfterMs: 1000 });
    });

    it('fails at once with PROVIDER_RATE_LIMITED when the delay asked for exceeds the cap', async () => {
      const before = requestsFor(model('fake-429-forever')).length;
      const outcome = await run(provider({ maxRetries: 3, maxRetryAfterMs: 5000 }), { model: model('fake-429-forever'), messages: user('again') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', status: 429, retryAfterMs: 120_000 });
      expect(requestsFor(model('fake-429-forever')).length - before).toBe(1);
    });

    it('fails with MODEL_NOT_FOUND for a model the provider does not have, without retrying', async () => {
      const before = chatRequests().length;
      const outcome = await run(provider({ maxRetries: 2 }), { model: 'no-such-model', messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'MODEL_NOT_FOUND', status: 404 });
      expect(chatRequests().length - before).toBe(1);
    });

    it('fails with PROVIDER_UNAVAILABLE after the deltas on a mid-stream disconnect, without retrying', async () => {
      const before = requestsFor(model('fake-disconnect')).length;
      const outcome = await run(provider({ maxRetries: 2 }), { model: model('fake-disconnect'), messages: user('drop me') });
      expect(outcome.deltas).toEqual(['Partial', ' answer']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect(outcome.error!.message).toContain('stream ended early');
      expect(outcome.chunks.some((c) => c.type === 'done')).toBe(false);
      expect(requestsFor(model('fake-disconnect')).length - before).toBe(1);
    });

    it('fails with PROVIDER_UNAVAILABLE when the body ends cleanly without the final marker', async () => {
      const outcome = await run(provider({ maxRetries: 2 }), { model: model('fake-truncated'), messages: user('cut') });
      expect(outcome.deltas).toEqual(['Hello']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('stream ended early') });
      expect(outcome.chunks.some((c) => c.type === 'done')).toBe(false);
    });

    it("fails with PROVIDER_UNAVAILABLE on the provider's in-stream error", async () => {
      const outcome = await run(provider(), { model: model('fake-error'), messages: user('fail midway') });
      expect(outcome.deltas).toEqual(['Hello']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('mid-stream') });
    });

    it('fails with PROVIDER_BAD_RESPONSE on a malformed chunk', async () => {
      const outcome = await run(provider(), { model: model('fake-malformed'), messages: user('garble') });
      expect(outcome.deltas).toEqual(['Hello']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_BAD_RESPONSE' });
    });

    it('fails with PROVIDER_TIMEOUT when the stream goes idle, and closes the connection', async () => {
      const closed = server.closedEarly;
      const outcome = await run(provider({ idleTimeoutMs: 200 }), { model: model('fake-hang'), messages: user('anyone there?') });
      expect(outcome.deltas).toEqual(['Hello']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
      await within(server.waitForClosedEarly(closed + 1));
    });

    it('fails with PROVIDER_TIMEOUT when no response headers arrive in time', async () => {
      const silent = await listen(createServer(() => {}));
      try {
        const outcome = await run(provider({ baseUrl: silent.url, connectTimeoutMs: 200, maxRetries: 0 }), { model: 'm', messages: user('hi') });
        expect(outcome.error).toMatchObject({ code: 'PROVIDER_TIMEOUT' });
        await expect(provider({ baseUrl: silent.url, connectTimeoutMs: 200, maxRetries: 0 }).listModels()).rejects.toMatchObject({ code: 'PROVIDER_TIMEOUT' });
      } finally {
        await silent.close();
      }
    });

    it('fails with PROVIDER_CANCELLED on abort, and the server sees the connection close', async () => {
      const closed = server.closedEarly;
      const controller = new AbortController();
      const outcome = await run(
        provider(),
        { model: model('fake-slow-50'), messages: user('a long story with many many words in it'), signal: controller.signal },
        () => controller.abort(),
      );
      expect(outcome.deltas).toEqual(['You']);
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
      await within(server.waitForClosedEarly(closed + 1));
    });

    it('closes the connection when the consumer stops reading', async () => {
      const closed = server.closedEarly;
      for await (const chunk of provider().streamChat({ model: model('fake-slow-20'), messages: user('many words to come here') })) {
        if (chunk.type === 'delta') break;
      }
      await within(server.waitForClosedEarly(closed + 1));
    });

    it('fails with PROVIDER_CANCELLED without a request when the signal is already aborted', async () => {
      const before = server.requests.length;
      const outcome = await run(provider(), { model: model('fake-echo'), messages: user('never'), signal: AbortSignal.abort() });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_CANCELLED' });
      expect(server.requests.length).toBe(before);
    });

    it('fails with PROVIDER_UNAVAILABLE after retries when the connection is refused', async () => {
      const closedPort = await listen(createServer());
      await closedPort.close();
      const outcome = await run(provider({ baseUrl: closedPort.url, maxRetries: 1 }), { model: model('fake-echo'), messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', status: null });
      expect(outcome.error!.message).toContain('cannot reach');
      await expect(provider({ baseUrl: closedPort.url, maxRetries: 0 }).listModels()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    });

    it('fails with PROVIDER_AUTH on 401 without leaking the key, and does not retry', async () => {
      const secret = 'wrong-SECRET-key-987654';
      const before = chatRequests().length;
      const outcome = await run(provider({ apiKey: secret, maxRetries: 2 }), { model: model('fake-echo'), messages: user('hi') });
      expect(outcome.error).toMatchObject({ code: 'PROVIDER_AUTH', status: 401 });
      expect(outcome.error!.message).not.toContain(secret);
      expect(JSON.stringify(outcome.error)).not.toContain(secret);
      expect(String(outcome.error!.stack)).not.toContain(secret);
      expect(chatRequests().length - before).toBe(1);
      const listing = await provider({ apiKey: secret }).listModels().catch((e: unknown) => e);
      expect(listing).toMatchObject({ code: 'PROVIDER_AUTH' });
      expect((listing as Error).message).not.toContain(secret);
    });

    it('reads a key given as a function at every call (a runtime key)', async () => {
      let key: string | undefined = 'not-yet-right';
      const chat = provider({ apiKey: async () => key });
      expect((await run(chat, { model: model('fake-echo'), messages: user('one') })).error).toMatchObject({ code: 'PROVIDER_AUTH' });
      key = apiKey;
      expect((await run(chat, { model: model('fake-echo'), messages: user('two') })).error).toBeNull();
    });
  });

  return () => server;
}
