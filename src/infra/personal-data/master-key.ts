import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishKeyFileOnce } from '../key-file.ts';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = 'master.key';

export interface LoadMasterKeyOptions {
  /** Base64 (standard or URL-safe) of exactly 32 bytes, from configuration. Wins over the data directory. */
  masterKey?: string;
  /** Where `master.key` is read from, or generated into on first start, when no key is configured. */
  dataDir: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Decodes a base64 master key; the message never echoes the key itself. */
function decodeMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new Error(`Invalid master key (${source}): it is empty; expected base64 of ${MASTER_KEY_BYTES} bytes`);
  if (!BASE64.test(trimmed)) throw new Error(`Invalid master key (${source}): not valid base64; expected base64 of ${MASTER_KEY_BYTES} bytes`);
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== MASTER_KEY_BYTES) {
    throw new Error(`Invalid master key (${source}): decodes to ${key.length} bytes; expected exactly ${MASTER_KEY_BYTES}`);
  }
  return key;
}

/**
 * The master key that wraps every subject's data key (ARCHITECTURE.md §5). A configured key wins;
 * otherwise `<dataDir>/master.key` is read, or generated (mode 0600) on first start. An existing but
 * unreadable or malformed key file is an error, never silently replaced: that would orphan every key.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): Buffer {
  if (options.masterKey !== undefined) return decodeMasterKey(options.masterKey, 'configured masterKey');
  const path = join(options.dataDir, MASTER_KEY_FILE);
  if (existsSync(path)) return decodeMasterKey(readFileSync(path, 'utf8'), path);
  return createMasterKeyFile(options.dataDir, path);
}

/** A fresh key into the data directory, or the one another process published there first. */
function createMasterKeyFile(dataDir: string, path: string): Buffer {
  const stored = publishKeyFileOnce(dataDir, MASTER_KEY_FILE, `${randomBytes(MASTER_KEY_BYTES).toString('base64')}\n`);
  return decodeMasterKey(stored, path);
}
