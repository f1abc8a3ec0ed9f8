import { describe, expect, it } from 'vitest';
import { GeminiProvider, toGeminiContents } from '../../../src/infra/ai/gemini.ts';
import { describeProviderContract, run, user } from './provider-contract.ts';

const KEY = 'AIza-test-key-456';
const server = describeProviderContract('gemini', 'gemini', (options) => new GeminiProvider(options), KEY);

describe('GeminiProvider', () => {
  it('sends streamGenerateContent with alt=sse, the key in a header, the system instruction and generationConfig', async () => {
    const fake = server();
    const before = fake.requests.length;
    const outcome = await run(new GeminiProvider({ baseUrl: fake.url, apiKey: KEY }), {
      model: 'gemini-fake-echo',
      messages: [{ role: 'system', content: 'Be brief' }, ...user('hi'), { role: 'assistant', content: 'Hello' }, ...user('again')],
      params: { temperature: 0.2, topP: 0.9, maxTokens: 50 },
    });
    expect(outcome.error).toBeNull();
    const [request] = fake.requests.slice(before);
    expect(request).toMatchObject({ method: 'POST', path: '/v1beta/models/gemini-fake-echo:streamGenerateContent' });
    expect(request!.query.get('alt')).toBe('sse');
    expect(request!.query.get('key')).toBeNull(); // never in the URL, where proxies and logs keep it
    expect(request!.headers['x-goog-api-key']).toBe(KEY);
    expect(request!.body).toMatchObject({
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'Hello' }] }, { role: 'user', parts: [{ text: 'again' }] }],
      systemInstruction: { parts: [{ text: 'Be brief' }] },
      generationConfig: { temperature: 0.2, topP: 0.9, maxOutputTokens: 50 },
    });
    expect(JSON.stringify(request!.body)).not.toContain('automaticContinuation');
  });

  it('lists only models that generate content, without the models/ prefix', async () => {
    const models = await new GeminiProvider({ baseUrl: server().url, apiKey: KEY }).listModels();
    expect(models.map((m) => m.id)).toContain('gemini-fake-echo');
    expect(models.map((m) => m.id)).not.toContain('text-embedding-fake');
    expect(models.every((m) => !m.id.startsWith('models/'))).toBe(true);
  });

  it('maps roles and joins consecutive turns', () => {
    expect(toGeminiContents([
      { role: 'system', content: 'a' }, { role: 'user', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' },
    ])).toEqual({ system: 'a', contents: [{ role: 'user', parts: [{ text: 'b\n\nc' }] }, { role: 'model', parts: [{ text: 'd' }] }] });
  });
});
