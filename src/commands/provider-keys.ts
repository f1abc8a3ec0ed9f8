import { DomainError } from '../domain/decider.ts';
import {
  checkKeyedProvider, KEYED_PROVIDERS, MAX_API_KEY_LENGTH, PROVIDER_KEYS_STREAM, providerKeyDecider,
  type KeyedProvider, type ProviderKeyEvent, type ProviderKeyState,
} from '../domain/provider-key/provider-key.ts';
import { ProviderError } from '../infra/ai/provider.ts';
import type { ProviderKeyCipher } from '../infra/ai/provider-key-cipher.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, type CommandResult } from './execute-command.ts';

export interface ProviderKeyStatus {
  provider: KeyedProvider;
  /** A key set by an admin is in force (it wins over the configured one). */
  configured: boolean;
  setAt: string | null;
  setBy: string | null;
}

export interface ProviderKeyCommandsDeps {
  store: EventStore;
  cipher: ProviderKeyCipher;
}

/**
 * Runtime provider keys. Every read folds the key stream of the log (a handful of events), so a key set
 * on one instance is used by every instance at its next call, with no cache to go stale.
 */
export function createProviderKeyCommands({ store, cipher }: ProviderKeyCommandsDeps) {
  async function load() {
    const recorded = await store.readStream(PROVIDER_KEYS_STREAM);
    let state: ProviderKeyState = providerKeyDecider.initialState();
    const last = new Map<KeyedProvider, { at: string; by: string | null }>();
    for (const event of recorded) {
      const e = { type: event.type, data: event.data } as ProviderKeyEvent;
      state = providerKeyDecider.evolve(state, e);
      last.set(e.data.provider, { at: event.metadata.occurredAt, by: event.metadata.actorId });
    }
    return { state, last };
  }

  return {
    /** Seals the key and records it; the clear key goes no further than this function. */
    set(input: { provider: unknown; apiKey: unknown }, context: CommandContext): Promise<CommandResult<ProviderKeyState, ProviderKeyEvent>> {
      const provider = checkKeyedProvider(input.provider);
      const apiKey = typeof input.apiKey === 'string' ? input.apiKey.trim() : '';
      if (apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(apiKey)) {
        throw new DomainError('BAD_USER_INPUT', `The API key must be 1 to ${MAX_API_KEY_LENGTH} printable ASCII characters without spaces`);
      }
      return executeCommand(store, providerKeyDecider, PROVIDER_KEYS_STREAM, { type: 'SetProviderApiKey', provider, sealedKey: cipher.seal(provider, apiKey) }, context);
    },

    clear(input: { provider: unknown }, context: CommandContext): Promise<CommandResult<ProviderKeyState, ProviderKeyEvent>> {
      return executeCommand(store, providerKeyDecider, PROVIDER_KEYS_STREAM, { type: 'ClearProviderApiKey', provider: checkKeyedProvider(input.provider) }, context);
    },

    /** Whether each provider has a runtime key, since when and by whom; never the key. */
    async status(): Promise<ProviderKeyStatus[]> {
      const { state, last } = await load();
      return KEYED_PROVIDERS.map((provider) => {
        const configured = state[provider] !== undefined;
        const change = configured ? last.get(provider) : undefined;
        return { provider, configured, setAt: change?.at ?? null, setBy: change?.by ?? null };
      });
    },

    /** The runtime key of a provider in clear, for the adapter about to call it; undefined when none is set. */
    async keyFor(provider: KeyedProvider): Promise<string | undefined> {
      const sealed = (await load()).state[provider];
      if (sealed === undefined) return undefined;
      try {
        return cipher.open(provider, sealed);
      } catch (error) {
        throw new ProviderError('PROVIDER_AUTH', `${provider}: ${(error as Error).message}`, { provider });
      }
    },
  };
}

export type ProviderKeyCommands = ReturnType<typeof createProviderKeyCommands>;
