import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishKeyFileOnce } from '../key-file.ts';

export const SIGNING_KEY_FILE = 'chain-signing.pem';

export interface LoadSigningKeyOptions {
  /** CHAIN_SIGNING_KEY: an Ed25519 private key as PKCS#8 PEM text. Wins over the data directory. */
  signingKey?: string;
  /** Where `chain-signing.pem` is read from, or generated into on first start, when no key is configured. */
  dataDir: string;
}

/** A PEM that came through an environment variable may have its newlines written as `\n`. */
function normalisePem(text: string): string {
  return text.trim().replace(/\\n/g, '\n');
}

/** Parses an Ed25519 private key; the message never echoes the key. */
export function parseSigningKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: normalisePem(pem), format: 'pem' });
  } catch {
    throw new Error(`Invalid chain signing key (${source}): not a PKCS#8 PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`Invalid chain signing key (${source}): an ${key.asymmetricKeyType ?? 'unknown'} key; expected Ed25519 (openssl genpkey -algorithm ed25519)`);
  }
  return key;
}

/**
 * The Ed25519 key that signs chain checkpoints. A configured key wins; otherwise
 * `<dataDir>/chain-signing.pem` is read, or generated (mode 0600) on first start. An existing but
 * malformed key file is an error, never silently replaced.
 */
export function loadSigningKey(options: LoadSigningKeyOptions): KeyObject {
  if (options.signingKey !== undefined) return parseSigningKey(options.signingKey, 'CHAIN_SIGNING_KEY');
  const path = join(options.dataDir, SIGNING_KEY_FILE);
  if (existsSync(path)) return parseSigningKey(readFileSync(path, 'utf8'), path);
  return createKeyFile(options.dataDir, path);
}

/** A fresh key into the data directory, or the one another process published there first. */
function createKeyFile(dataDir: string, path: string): KeyObject {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return parseSigningKey(publishKeyFileOnce(dataDir, SIGNING_KEY_FILE, pem), path);
}

/** A public key from a KeyObject (public or private) or PEM text (SPKI public, or PKCS#8 private). */
export function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') return key.type === 'public' ? key : createPublicKey(key);
  const pem = normalisePem(key);
  const publicKey = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('Chain public key must be an Ed25519 key');
  return publicKey;
}

/** The public half as SPKI PEM: all that verification needs. */
export function publicKeyPem(key: KeyObject | string): string {
  return toPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}

/** sha256 of the public key's SPKI DER, hex: names the key a checkpoint was signed with. */
export function keyIdOf(key: KeyObject | string): string {
  return createHash('sha256').update(toPublicKey(key).export({ type: 'spki', format: 'der' })).digest('hex');
}
