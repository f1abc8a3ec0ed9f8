import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './infra/config.ts';
import { lockDataDir } from './infra/data-dir-lock.ts';
import { PgliteWorkerReadDb } from './infra/read-db/pglite-worker-read-db.ts';
import type { ReadDb } from './infra/read-db/port.ts';

/** Stores that main begins opening before the rest of the server has loaded; createApp takes them over. */
export interface EarlyStores {
  /** The data directory's lock, held when the embedded log or read database lives there. */
  lock?: { release(): void };
  /** The embedded read database, opening. */
  readDb?: Promise<ReadDb>;
}

/**
 * PGlite's start (WebAssembly compile and Postgres boot) is the longest part of a start: begun
 * first, in a worker thread, it runs on another core while the main thread loads the rest of the
 * server and builds the GraphQL schema. The lock comes first, so a second process never opens files
 * the first one is using.
 */
export function startEarly(config: Config): EarlyStores {
  mkdirSync(config.dataDir, { recursive: true });
  if (config.readDb !== 'pglite' && config.eventStore !== 'sqlite') return {};
  const lock = lockDataDir(config.dataDir);
  if (config.readDb !== 'pglite') return { lock };
  const readDb = PgliteWorkerReadDb.open({ dataDir: join(config.dataDir, 'read-models') });
  // Awaited by createApp; this keeps a failure from being reported as unhandled before then.
  readDb.catch(() => {});
  return { lock, readDb };
}
