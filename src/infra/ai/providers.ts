// The chat providers the configuration turns on besides the OpenAI-compatible one (app.ts builds that
// one, which takes a fixed key). Each reads its API key at every call: a key an admin set at run time
// (setProviderApiKey) wins over the configured one.
import type { KeyedProvider } from '../../domain/provider-key/provider-key.ts';
import type { Config } from '../config.ts';
import type { ChatProvider } from './provider.ts';

export type RuntimeKey = (provider: KeyedProvider) => Promise<string | undefined>;

/** Each vendor's SDK is loaded only when its provider is configured (they are megabytes of code a start would otherwise evaluate). */
export async function createChatProviders(config: Config, runtimeKey: RuntimeKey): Promise<ChatProvider[]> {
  const timeouts = { connectTimeoutMs: config.providerConnectTimeoutMs, idleTimeoutMs: config.providerTimeoutMs };
  const key = (provider: KeyedProvider, configured: string | undefined) => async () => (await runtimeKey(provider)) ?? configured;
  const providers: ChatProvider[] = [];
  if (config.anthropic) {
    const { AnthropicProvider } = await import('./anthropic.ts');
    providers.push(new AnthropicProvider({
      ...timeouts, baseUrl: config.anthropic.baseUrl, apiKey: key('anthropic', config.anthropic.apiKey), defaultMaxTokens: config.anthropic.maxTokens,
    }));
  }
  if (config.gemini) {
    const { GeminiProvider } = await import('./gemini.ts');
    providers.push(new GeminiProvider({ ...timeouts, baseUrl: config.gemini.baseUrl, apiKey: key('gemini', config.gemini.apiKey) }));
  }
  if (config.ollama) {
    const { OllamaProvider } = await import('./ollama.ts');
    providers.push(new OllamaProvider({ ...timeouts, baseUrl: config.ollama.baseUrl, apiKey: key('ollama', config.ollama.apiKey) }));
  }
  return providers;
}
