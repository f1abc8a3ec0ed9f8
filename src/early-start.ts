import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './infra/config.ts';
import { lockDataDir } from './infra/data-dir-lock.ts';
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
 * first, its compile and file reads overlap the loading of the GraphQL modules. The lock comes
 * first, so a second process never opens files the first one is using.
 */
export function startEarly(config: Config): EarlyStores {
  mkdirSync(config.dataDir, { recursive: true });
  if (config.readDb !== 'pglite' && config.eventStore !== 'sqlite') return {};
  const lock = lockDataDir(config.dataDir);
  if (config.readDb !== 'pglite') return { lock };
  const readDb = import('./infra/read-db/pglite-read-db.ts').then(({ PgliteReadDb }) => PgliteReadDb.open({ dataDir: join(config.dataDir, 'read-models') }));
  // Awaited by createApp; this keeps a failure from being reported as unhandled before then.
  readDb.catch(() => {});
  return { lock, readDb };
}
