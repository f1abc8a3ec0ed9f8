import { createHmac, hkdfSync } from 'node:crypto';

/**
 * A keyed hash for looking values up without storing them: unlike a plain sha256 of an email, it
 * cannot be reversed by hashing a list of likely addresses without the master key.
 */
export function createBlindIndex(masterKey: Buffer, purpose: string): (value: string) => string {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `evident/blind-index/${purpose}`, 32));
  return (value) => createHmac('sha256', key).update(value).digest('base64url');
}
