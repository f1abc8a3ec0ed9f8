import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProviderKeyCipher } from '../../../src/infra/ai/provider-key-cipher.ts';

describe('provider key cipher (AES-256-GCM under the master key)', () => {
  const master = randomBytes(32);
  const cipher = createProviderKeyCipher(master);

  it('seals a key into base64 that does not contain it, with a fresh IV each time, and opens it', () => {
    const key = 'sk-ant-api03-SECRET';
    const a = cipher.seal('anthropic', key);
    const b = cipher.seal('anthropic', key);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain('SECRET');
    expect(cipher.open('anthropic', a)).toBe(key);
    expect(cipher.open('anthropic', b)).toBe(key);
  });

  it('does not open under another master key, for another provider, or once altered', () => {
    const sealed = cipher.seal('gemini', 'AIza-key');
    expect(() => createProviderKeyCipher(randomBytes(32)).open('gemini', sealed)).toThrow(/cannot be opened/);
    expect(() => cipher.open('anthropic', sealed)).toThrow(/cannot be opened/);
    const bytes = Buffer.from(sealed, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => cipher.open('gemini', bytes.toString('base64'))).toThrow(/cannot be opened/);
    expect(() => cipher.open('gemini', 'AAAA')).toThrow(/not a sealed key/);
  });
});
