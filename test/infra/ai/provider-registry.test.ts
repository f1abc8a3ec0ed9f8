import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleProvider } from '../../../src/infra/ai/openai-compatible.ts';
import { ProviderError } from '../../../src/infra/ai/provider.ts';
import type { ChatChunk, ChatProvider, ModelInfo } from '../../../src/infra/ai/provider.ts';
import { ProviderRegistry } from '../../../src/infra/ai/provider-registry.ts';
import { start } from '../../support/fake-openai-server.ts';
import type { FakeOpenAiServer } from '../../support/fake-openai-server.ts';

/** An in-memory provider whose model list can change and whose listModels calls are counted. */
function fakeProvider(id: string, models: string[] | Error) {
  const state = { models, listCalls: 0 };
  const provider: ChatProvider & { state: typeof state } = {
    id,
    state,
    async listModels(): Promise<ModelInfo[]> {
      state.listCalls++;
      if (state.models instanceof Error) throw state.models;
      return state.models.map((model) => ({ id: model, provider: id, ownedBy: null }));
    },
    async *streamChat(): AsyncIterable<ChatChunk> {
      yield { type: 'done', finishReason: 'stop', usage: null, model: id };
    },
  };
  return provider;
}

describe('ProviderRegistry', () => {
  it('merges the models of all providers and reports the ones that fail', async () => {
    const a = fakeProvider('a', ['m1', 'shared']);
    const b = fakeProvider('b', ['shared', 'org/m2']);
    const broken = fakeProvider('broken', new ProviderError('PROVIDER_UNAVAILABLE', 'broken: cannot reach http://x'));
    const registry = new ProviderRegistry([a, broken, b]);
    const listing = await registry.listModels();
    expect(listing.models).toEqual([
      { id: 'm1', provider: 'a', ownedBy: null },
      { id: 'shared', provider: 'a', ownedBy: null },
      { id: 'shared', provider: 'b', ownedBy: null },
      { id: 'org/m2', provider: 'b', ownedBy: null },
    ]);
    expect(listing.errors).toEqual([{ provider: 'broken', message: 'broken: cannot reach http://x' }]);
  });

  it('caches the listing for modelCacheMs and shares concurrent fetches', async () => {
    let clock = 1_000_000;
    const a = fakeProvider('a', ['m1']);
    const registry = new ProviderRegistry([a], { modelCacheMs: 60_000, now: () => clock });
    await Promise.all([registry.listModels(), registry.listModels(), registry.resolve('m1')]);
    expect(a.state.listCalls).toBe(1);
    clock += 59_000;
    await registry.listModels();
    expect(a.state.listCalls).toBe(1);
    a.state.models = ['m1', 'm3'];
    clock += 2_000;
    expect((await registry.listModels()).models.map((m) => m.id)).toEqual(['m1', 'm3']);
    expect(a.state.listCalls).toBe(2);
    await registry.listModels({ refresh: true });
    expect(a.state.listCalls).toBe(3);
  });

  it('resolves a model to the first provider that lists it, or to the one named by a prefix', async () => {
    const a = fakeProvider('a', ['m1', 'shared']);
    const b = fakeProvider('b', ['shared', 'org/m2']);
    const registry = new ProviderRegistry([a, b]);
    expect(await registry.resolve('m1')).toBe(a);
    expect(await registry.resolve('shared')).toBe(a);
    expect(await registry.resolve('b/shared')).toBe(b);
    expect(await registry.resolveModel('b/shared')).toEqual({ provider: b, model: 'shared' });
    expect(await registry.resolveModel('a/m1')).toEqual({ provider: a, model: 'm1' });
    // A slash that does not name a provider is part of the model id.
    expect(await registry.resolveModel('org/m2')).toEqual({ provider: b, model: 'org/m2' });
    expect(await registry.resolveModel('b/org/m2')).toEqual({ provider: b, model: 'org/m2' });
  });

  it('lets a prefix force a provider whose model list could not be read', async () => {
    const down = fakeProvider('down', new Error('offline'));
    const registry = new ProviderRegistry([fakeProvider('a', ['m1']), down]);
    expect(await registry.resolveModel('down/anything')).toEqual({ provider: down, model: 'anything' });
  });

  it('fails with PROVIDER_NOT_CONFIGURED when there are no providers', async () => {
    const registry = new ProviderRegistry([]);
    expect(registry.isConfigured).toBe(false);
    await expect(registry.resolve('m1')).rejects.toMatchObject({ name: 'ProviderError', code: 'PROVIDER_NOT_CONFIGURED' });
    expect(await registry.listModels()).toEqual({ models: [], errors: [] });
  });

  it('fails with MODEL_NOT_FOUND when every provider answered and none offers the model', async () => {
    const registry = new ProviderRegistry([fakeProvider('a', ['m1']), fakeProvider('b', ['m2'])]);
    expect(registry.isConfigured).toBe(true);
    const error = await registry.resolve('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('"nope"') });
    await expect(registry.resolve('a/nope')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(new ProviderRegistry([fakeProvider('a', [])]).resolve()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('fails with PROVIDER_UNAVAILABLE, naming the provider, when the model is not found and a provider could not be listed', async () => {
    const registry = new ProviderRegistry([fakeProvider('a', ['m1']), fakeProvider('down', new Error('offline'))]);
    const error = await registry.resolve('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('"nope"') });
    expect((error as Error).message).toContain('down cannot be reached (offline)');
    await expect(new ProviderRegistry([fakeProvider('down', new Error('offline'))]).resolve()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    // A model a reachable provider lists is still found.
    expect(await registry.resolve('m1')).toBe(registry.provider('a'));
  });

  it('uses the default model, or else the first listed model, when none is named', async () => {
    const a = fakeProvider('a', ['m1']);
    const b = fakeProvider('b', ['m2']);
    expect(await new ProviderRegistry([a, b], { defaultModel: 'm2' }).resolveModel()).toEqual({ provider: b, model: 'm2' });
    expect(await new ProviderRegistry([a, b]).resolveModel('')).toEqual({ provider: a, model: 'm1' });
    expect(new ProviderRegistry([a], { defaultModel: 'm2' }).defaultModel).toBe('m2');
  });

  it('re-lists once on a miss when the cached listing is older than a second', async () => {
    let clock = 0;
    const a = fakeProvider('a', ['m1']);
    const registry = new ProviderRegistry([a], { now: () => clock });
    await registry.listModels();
    a.state.models = ['m1', 'just-pulled'];
    await expect(registry.resolve('just-pulled')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(a.state.listCalls).toBe(1);
    clock += 1_500;
    expect(await registry.resolve('just-pulled')).toBe(a);
    expect(a.state.listCalls).toBe(2);
  });

  it('invalidate() makes the next call list again (a provider key changed)', async () => {
    const a = fakeProvider('a', ['m1']);
    const registry = new ProviderRegistry([a]);
    await registry.listModels();
    await registry.listModels();
    expect(a.state.listCalls).toBe(1);
    registry.invalidate();
    await registry.listModels();
    expect(a.state.listCalls).toBe(2);
  });

  it('rejects two providers with the same id', () => {
    expect(() => new ProviderRegistry([fakeProvider('a', []), fakeProvider('a', [])])).toThrow(/Duplicate/);
  });

  describe('with OpenAI-compatible providers on the fake server', () => {
    let server: FakeOpenAiServer;
    beforeAll(async () => {
      server = await start();
    });
    afterAll(async () => {
      await server.close();
    });

    it('resolves a listed model and streams from it', async () => {
      const local = new OpenAiCompatibleProvider({ id: 'local', baseUrl: server.url });
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      const unreachable = new OpenAiCompatibleProvider({ id: 'remote', baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
      const registry = new ProviderRegistry([unreachable, local]);
      const listing = await registry.listModels();
      expect(listing.models.map((m) => `${m.provider}/${m.id}`)).toContain('local/fake-echo');
      expect(listing.errors).toEqual([{ provider: 'remote', message: expect.stringContaining('remote: cannot reach') }]);
      const { provider, model } = await registry.resolveModel('local/fake-echo');
      expect(provider).toBe(local);
      let text = '';
      for await (const chunk of provider.streamChat({ model, messages: [{ role: 'user', content: 'via the registry' }] })) {
        if (chunk.type === 'delta') text += chunk.text;
      }
      expect(text).toBe('You said: via the registry');
    });

    it('a provider on a closed port (down) gives PROVIDER_UNAVAILABLE for a model, and for the default model', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      const down = new OpenAiCompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
      const registry = new ProviderRegistry([down], { defaultModel: 'fake-echo' });
      const error = await registry.resolve('fake-echo').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: expect.stringContaining('openai cannot be reached') });
      expect((error as Error).message).toContain(`cannot reach http://127.0.0.1:${port}`);
      await expect(registry.resolve()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    });
  });
});
