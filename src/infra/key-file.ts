import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * Stores `contents` as `<dataDir>/<fileName>` (mode 0600) unless that file already exists, and returns
 * the text the file now holds. Written to a temp file (fsynced), then published with link(2), which
 * fails when the target already exists: two processes starting at once both end up with the first
 * file published, never one each. Filesystems without hard links fall back to rename.
 */
export function publishKeyFileOnce(dataDir: string, fileName: string, contents: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, fileName);
  const temp = join(dataDir, `.${fileName}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask may have narrowed it further, but never widens it past 0600
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    try {
      linkSync(temp, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return readFileSync(path, 'utf8');
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      if (existsSync(path)) return readFileSync(path, 'utf8');
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
  return contents;
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
