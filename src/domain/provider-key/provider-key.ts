import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * API keys of AI providers set at run time by admins (docs/ai-providers.md). The events never carry a key
 * in clear: `sealedKey` is the key sealed with AES-256-GCM under a key derived from the master key
 * (src/infra/ai/provider-key-cipher.ts), bound to the provider id. One stream holds every provider's
 * keys, so set and clear are ordered and conflict-checked. A set key wins over the configured one
 * (ANTHROPIC_API_KEY …) until it is cleared.
 */

export const KEYED_PROVIDERS = ['openai', 'anthropic', 'gemini', 'ollama'] as const;
export type KeyedProvider = typeof KEYED_PROVIDERS[number];
export const PROVIDER_KEYS_STREAM = 'provider-api-keys';
/** A sealed key: base64 of version, IV, tag and at most MAX_API_KEY_LENGTH bytes of UTF-8. */
export const MAX_API_KEY_LENGTH = 1000;
const MAX_SEALED_LENGTH = Math.ceil(((1 + 12 + 16 + MAX_API_KEY_LENGTH * 3) / 3) * 4) + 4;

export type ProviderApiKeySet = DomainEvent<'ProviderApiKeySet', { provider: KeyedProvider; sealedKey: string }>;
export type ProviderApiKeyCleared = DomainEvent<'ProviderApiKeyCleared', { provider: KeyedProvider }>;
export type ProviderKeyEvent = ProviderApiKeySet | ProviderApiKeyCleared;

export type ProviderKeyCommand =
  | { type: 'SetProviderApiKey'; provider: string; sealedKey: string }
  | { type: 'ClearProviderApiKey'; provider: string };

/** The sealed key in force per provider. */
export type ProviderKeyState = Readonly<Partial<Record<KeyedProvider, string>>>;

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

export function checkKeyedProvider(value: unknown): KeyedProvider {
  if (typeof value !== 'string' || !(KEYED_PROVIDERS as readonly string[]).includes(value)) {
    throw bad(`The provider must be one of ${KEYED_PROVIDERS.join(', ')}`);
  }
  return value as KeyedProvider;
}

export const providerKeyDecider: Decider<ProviderKeyCommand, ProviderKeyState, ProviderKeyEvent> = {
  initialState: () => ({}),
  evolve(state, event) {
    const next: Partial<Record<KeyedProvider, string>> = { ...state };
    if (event.type === 'ProviderApiKeySet') next[event.data.provider] = event.data.sealedKey;
    else delete next[event.data.provider];
    return next;
  },
  decide(command, state) {
    const provider = checkKeyedProvider(command.provider);
    switch (command.type) {
      case 'SetProviderApiKey': {
        const sealed = command.sealedKey;
        if (typeof sealed !== 'string' || sealed.length === 0 || sealed.length > MAX_SEALED_LENGTH || !/^[A-Za-z0-9+/]+={0,2}$/.test(sealed)) {
          throw bad('The key must be sealed before it is recorded');
        }
        return [{ type: 'ProviderApiKeySet', data: { provider, sealedKey: sealed } }];
      }
      case 'ClearProviderApiKey':
        return state[provider] === undefined ? [] : [{ type: 'ProviderApiKeyCleared', data: { provider } }];
    }
  },
  schemaVersions: { ProviderApiKeySet: 1, ProviderApiKeyCleared: 1 },
};
