import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

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

/**
 * Writes a fresh key to a temp file (fsynced, 0600), then publishes it with link(2), which fails
 * when the target already exists: two processes starting at once both end up using the first key
 * published, never one each. Filesystems without hard links fall back to rename.
 */
function createMasterKeyFile(dataDir: string, path: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_BYTES);
  const temp = join(dataDir, `.${MASTER_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask may have narrowed it further, but never widens it past 0600
    writeSync(fd, `${key.toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    try {
      linkSync(temp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return decodeMasterKey(readFileSync(path, 'utf8'), path);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      if (existsSync(path)) return decodeMasterKey(readFileSync(path, 'utf8'), path);
      renameSync(temp, path);
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already renamed into place
    }
  }
  syncDirectory(dataDir);
  return key;
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported on every platform (Windows); the file itself is already fsynced
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
