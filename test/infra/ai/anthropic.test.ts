import { describe, expect, it } from 'vitest';
import { AnthropicProvider, toAnthropicMessages } from '../../../src/infra/ai/anthropic.ts';
import { describeProviderContract, run, user } from './provider-contract.ts';

const KEY = 'sk-ant-test-key-123';
const server = describeProviderContract('anthropic', 'anthropic', (options) => new AnthropicProvider(options), KEY);

describe('AnthropicProvider', () => {
  it('sends the Messages request: system apart, the key, version header, parameters, max_tokens default', async () => {
    const fake = server();
    const before = fake.requests.length;
    await run(new AnthropicProvider({ baseUrl: fake.url, apiKey: KEY }), {
      model: 'claude-fake-echo',
      messages: [{ role: 'system', content: 'Be brief' }, ...user('hi'), { role: 'assistant', content: 'Hello' }, ...user('again')],
      params: { temperature: 0.2, topP: 0.9 },
    });
    const [request] = fake.requests.slice(before);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(request!.headers['x-api-key'] ?? request!.headers.authorization).toMatch(new RegExp(`^(Bearer )?${KEY}$`));
    expect(request!.headers['anthropic-version']).toBeTruthy();
    expect(request!.headers['x-stainless-retry-count']).toBe('0');
    expect(request!.body).toEqual({
      model: 'claude-fake-echo', system: 'Be brief', stream: true, max_tokens: 4096, temperature: 0.2, top_p: 0.9,
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'again' }],
    });
  });

  it('joins consecutive turns of one role and every system message', () => {
    expect(toAnthropicMessages([
      { role: 'system', content: 'a' }, { role: 'user', content: 'b' }, { role: 'system', content: 'c' }, { role: 'user', content: 'd' },
    ])).toEqual({ system: 'a\n\nc', messages: [{ role: 'user', content: 'b\n\nd' }] });
  });

  it('fails with PROVIDER_AUTH without a request when no key is set', async () => {
    const fake = server();
    const before = fake.requests.length;
    const outcome = await run(new AnthropicProvider({ baseUrl: fake.url, apiKey: undefined }), { model: 'claude-fake-echo', messages: user('hi') });
    expect(outcome.error).toMatchObject({ code: 'PROVIDER_AUTH', message: expect.stringContaining('ANTHROPIC_API_KEY') });
    expect(fake.requests.length).toBe(before);
  });
});
