import { describe, expect, it, vi } from 'vitest';
import { OllamaProvider } from '../../../src/infra/ai/ollama.ts';
import { describeProviderContract, run, user } from './provider-contract.ts';

const KEY = 'ollama-proxy-token-789';
const server = describeProviderContract('ollama', 'ollama', (options) => new OllamaProvider(options), KEY);

describe('OllamaProvider (native API)', () => {
  it('sends /api/chat with stream, options and the bearer token', async () => {
    const fake = server();
    const before = fake.requests.length;
    await run(new OllamaProvider({ baseUrl: fake.url, apiKey: KEY }), {
      model: 'llama-fake-echo', messages: [{ role: 'system', content: 'Be brief' }, ...user('hi')], params: { temperature: 0.2, topP: 0.9, maxTokens: 50 },
    });
    const [request] = fake.requests.slice(before);
    expect(request).toMatchObject({ method: 'POST', path: '/api/chat' });
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request!.body).toEqual({
      model: 'llama-fake-echo', stream: true, options: { temperature: 0.2, top_p: 0.9, num_predict: 50 },
      messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hi' }],
    });
  });

  it('lists the models of /api/tags', async () => {
    const fake = server();
    const models = await new OllamaProvider({ baseUrl: fake.url, apiKey: KEY }).listModels();
    expect(models).toContainEqual({ id: 'llama-fake-echo', provider: 'ollama', ownedBy: 'llama' });
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/tags' });
  });

  it('writes nothing to the console on malformed chunks and error bodies (no reply text in the logs)', async () => {
    const spies = (['log', 'warn', 'error', 'info'] as const).map((name) => vi.spyOn(console, name).mockImplementation(() => {}));
    try {
      const provider = new OllamaProvider({ baseUrl: server().url, apiKey: KEY, maxRetries: 0 });
      expect((await run(provider, { model: 'llama-fake-malformed', messages: user('secret words') })).error).toMatchObject({ code: 'PROVIDER_BAD_RESPONSE' });
      expect((await run(provider, { model: 'llama-fake-500', messages: user('secret words') })).error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
