import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export class DataDirInUseError extends Error {
  constructor(dataDir: string) {
    super(`Another Evident process is using ${dataDir}; stop it, or give this one its own DATA_DIR`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * One process per embedded data directory: PGlite's files must not be opened by two processes.
 * An exclusive SQLite transaction on a lock file holds an OS-level lock that ends with the process,
 * however it ends (kill -9 included), so a stale lock can never block a restart.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const db = new DatabaseSync(join(dataDir, 'instance.lock'), { timeout: 0 });
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
  } catch {
    db.close();
    throw new DataDirInUseError(dataDir);
  }
  return {
    release() {
      if (!db.isOpen) return;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
