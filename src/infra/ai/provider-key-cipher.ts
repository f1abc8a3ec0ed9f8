import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals provider API keys for the log: AES-256-GCM under a key derived (HKDF-SHA256) from the master
 * key for this purpose alone, a fresh 96-bit IV per key, and the provider id as additional data, so a
 * sealed key copied onto another provider's event does not open. Format, base64:
 * version (1) | IV (12) | tag (16) | ciphertext.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface ProviderKeyCipher {
  seal(provider: string, apiKey: string): string;
  /** Throws when the sealed key was made under another master key or altered. */
  open(provider: string, sealed: string): string;
}

export function createProviderKeyCipher(masterKey: Buffer): ProviderKeyCipher {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'evident/provider-api-keys/v1', 32));
  const aad = (provider: string) => Buffer.from(`evident/provider-api-key/${provider}`, 'utf8');
  return {
    seal(provider, apiKey) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(provider));
      const ciphertext = Buffer.concat([cipher.update(apiKey, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ciphertext]).toString('base64');
    },
    open(provider, sealed) {
      const bytes = Buffer.from(sealed, 'base64');
      if (bytes.length < 1 + IV_BYTES + TAG_BYTES + 1 || bytes[0] !== VERSION) throw new Error(`The stored API key of ${provider} is not a sealed key`);
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(provider));
      decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error(`The stored API key of ${provider} cannot be opened: another MASTER_KEY, or the log was altered`);
      }
    },
  };
}
