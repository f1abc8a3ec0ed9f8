import { describe, it } from 'vitest';
import { providerKeyDecider } from '../../../src/domain/provider-key/provider-key.ts';
import type { ProviderKeyEvent } from '../../../src/domain/provider-key/provider-key.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(providerKeyDecider);
const set = (provider: 'anthropic' | 'gemini', sealedKey = 'AQID'): ProviderKeyEvent => ({ type: 'ProviderApiKeySet', data: { provider, sealedKey } });

describe('provider API keys', () => {
  it('records a sealed key for a known provider', () => {
    spec.given([]).when({ type: 'SetProviderApiKey', provider: 'anthropic', sealedKey: 'AQID' }).then([set('anthropic')]);
  });

  it('records a replacement as a new key', () => {
    spec.given([set('anthropic')]).when({ type: 'SetProviderApiKey', provider: 'anthropic', sealedKey: 'BBBB' }).then([set('anthropic', 'BBBB')]);
  });

  it('refuses an unknown provider and anything that is not a sealed key', () => {
    spec.given([]).when({ type: 'SetProviderApiKey', provider: 'acme', sealedKey: 'AQID' }).thenFails('BAD_USER_INPUT', /one of openai, anthropic/);
    spec.given([]).when({ type: 'SetProviderApiKey', provider: 'gemini', sealedKey: 'sk-clear text' }).thenFails('BAD_USER_INPUT', /sealed/);
    spec.given([]).when({ type: 'SetProviderApiKey', provider: 'gemini', sealedKey: '' }).thenFails('BAD_USER_INPUT');
    spec.given([]).when({ type: 'SetProviderApiKey', provider: 'gemini', sealedKey: 'A'.repeat(5000) }).thenFails('BAD_USER_INPUT');
  });

  it('clears a key that is set, and records nothing when none is', () => {
    spec.given([set('anthropic'), set('gemini')]).when({ type: 'ClearProviderApiKey', provider: 'gemini' })
      .then([{ type: 'ProviderApiKeyCleared', data: { provider: 'gemini' } }]);
    spec.given([set('gemini'), { type: 'ProviderApiKeyCleared', data: { provider: 'gemini' } }]).when({ type: 'ClearProviderApiKey', provider: 'gemini' }).then([]);
    spec.given([set('anthropic')]).when({ type: 'ClearProviderApiKey', provider: 'gemini' }).then([]);
  });
});
