import { existsSync } from 'node:fs';
import type { ChainStore } from '../infra/audit/chain-store.ts';
import { join } from 'node:path';
import { openBlobStore, openDocumentInfra, type DocumentInfra } from '../app-documents.ts';
import type { CommandContext } from '../commands/context.ts';
import type { BlobStore } from '../infra/blob-store/port.ts';
import { ConfigError, loadConfig, type Config } from '../infra/config.ts';
import { DataDirInUseError, lockDataDir } from '../infra/data-dir-lock.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { uuidv7 } from '../infra/ids.ts';
import { pino } from 'pino';
import type { Logger } from '../infra/logger.ts';
import type { PersonalDataCodec } from '../infra/personal-data/codec.ts';
import type { KeyStore } from '../infra/personal-data/key-store.ts';
import { loadMasterKey, MASTER_KEY_FILE } from '../infra/personal-data/master-key.ts';
import { migrate } from '../infra/read-db/migrations.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import type { Projection } from '../projections/projection.ts';
import {
  createCodec, domainStore, MIGRATIONS_DIR, openChainStore, openKeyStore, openLog, openReadDb, pgliteReadDbDir, readModelProjections, sqliteLogPath,
} from '../stores.ts';
import { CliError, EXIT, unavailable } from './errors.ts';
import type { Output } from './output.ts';

/**
 * What every command gets: the configuration the server would use, and the same stores, each
 * opened on first use and closed by main when the command ends. Nothing runs in the background
 * (no projection, no reactor) unless a command starts it itself.
 */
export interface CliContext {
  /** From the environment (and .env in the working directory), exactly as the server reads it. */
  readonly config: Config;
  readonly out: Output;
  /** Silent unless LOG_LEVEL asks otherwise; writes to stderr, so stdout stays parseable. */
  readonly logger: Logger;
  /**
   * The log as stored (personal fields are ciphertext), not upcast. Works beside a running server
   * (SQLite readers in WAL mode, or PostgreSQL). Exit 3 when there is no log.
   */
  log(): Promise<EventStore>;
  keyStore(): Promise<KeyStore>;
  /** The hash chain over the log (beside it: the same SQLite file or PostgreSQL database). Exit 3 when there is no log. */
  chain(): Promise<ChainStore>;
  /** The master key, or null when none is configured or stored (personal fields cannot be read). */
  masterKey(): Buffer | null;
  /** Null when there is no master key. */
  codec(): Promise<PersonalDataCodec | null>;
  /** The log as the domain sees it: personal fields decrypted (ERASED once erased), events upcast. Exit 3 without a master key. */
  store(): Promise<EventStore>;
  /**
   * The live read database, migrated. For PGlite this takes the data directory's lock first: exit 3
   * while a server holds it.
   */
  readDb(): Promise<ReadDb>;
  /** Holds the data directory's lock (when the embedded stores live there) until the command ends; exit 3 if a server holds it. */
  lockDataDir(): void;
  blobs(): Promise<BlobStore>;
  /** Blobs, vector index and embedder as the server configures them (needs the read database). */
  documentInfra(): Promise<DocumentInfra>;
  /** The read models' projections, as the server runs them. */
  readModels(): Promise<Projection[]>;
  /** A command context for an actor (the operator), with the real clock and UUIDv7 ids. */
  commandContext(actorId: string | null): CommandContext;
  /** Runs `close` when the command ends (in reverse order of registration). */
  onClose(close: () => Promise<void> | void): void;
  close(): Promise<void>;
}

function once<T>(open: () => Promise<T>): () => Promise<T> {
  let opened: Promise<T> | undefined;
  return () => (opened ??= open());
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Opening failed: a CliError stays as it is, anything else is a store that is unavailable (exit 3). */
async function opening<T>(what: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw unavailable(`Cannot open the ${what}: ${messageOf(error).split('\n')[0]}`);
  }
}

export function createCliContext(options: { out: Output; env?: NodeJS.ProcessEnv }): CliContext {
  const closers: Array<() => Promise<void> | void> = [];
  let config: Config | undefined;
  let logger: Logger | undefined;
  let lock: { release(): void } | undefined;
  let masterKey: Buffer | null | undefined;

  const getConfig = (): Config => {
    if (!config) {
      try {
        config = loadConfig(options.env ?? process.env);
      } catch (error) {
        if (error instanceof ConfigError) throw new CliError(EXIT.usage, error.message);
        throw error;
      }
    }
    return config;
  };
  const needDataDir = () => {
    const { dataDir } = getConfig();
    if (!existsSync(dataDir)) throw unavailable(`No data directory at ${dataDir} (set DATA_DIR, or run from the server's working directory)`);
  };

  const ctx: CliContext = {
    get config() {
      return getConfig();
    },
    out: options.out,
    get logger() {
      logger ??= pino({ level: process.env.LOG_LEVEL ? getConfig().logLevel : 'silent', base: { service: 'evident-cli' } }, pino.destination(2));
      return logger;
    },
    log: once(async () => {
      const c = getConfig();
      if (c.eventStore === 'sqlite') {
        needDataDir();
        if (!existsSync(sqliteLogPath(c))) throw unavailable(`No event log at ${sqliteLogPath(c)}`);
      }
      const log = await opening('event log', () => openLog(c));
      closers.push(() => log.close());
      return log;
    }),
    chain: once(async () => {
      await ctx.log(); // the same checks; the SQLite chain lives in the log's file
      const chain = await opening('chain store', () => openChainStore(getConfig()));
      closers.push(() => chain.close());
      return chain;
    }),
    keyStore: once(async () => {
      const c = getConfig();
      if (c.eventStore === 'sqlite') needDataDir();
      const keyStore = await opening('key store', () => openKeyStore(c));
      closers.push(() => keyStore.close());
      return keyStore;
    }),
    masterKey() {
      if (masterKey === undefined) {
        const c = getConfig();
        // Never generated here: a new key in an existing installation would orphan every data key.
        masterKey = c.masterKey !== undefined || existsSync(join(c.dataDir, MASTER_KEY_FILE))
          ? loadMasterKey({ masterKey: c.masterKey, dataDir: c.dataDir })
          : null;
      }
      return masterKey;
    },
    codec: once(async () => {
      const key = ctx.masterKey();
      return key ? createCodec(await ctx.keyStore(), key) : null;
    }),
    store: once(async () => {
      const codec = await ctx.codec();
      if (!codec) throw unavailable(`No master key: set MASTER_KEY, or keep ${MASTER_KEY_FILE} in DATA_DIR`);
      return domainStore(await ctx.log(), codec);
    }),
    lockDataDir() {
      const c = getConfig();
      if (lock || (c.readDb !== 'pglite' && c.eventStore !== 'sqlite')) return;
      needDataDir();
      try {
        lock = lockDataDir(c.dataDir);
      } catch (error) {
        if (!(error instanceof DataDirInUseError)) throw error;
        throw unavailable(`A server (or another evident command) is using ${c.dataDir}: stop it first, or keep the read models in PostgreSQL (DATABASE_URL)`);
      }
      const held = lock;
      closers.unshift(() => held.release()); // released last, after everything in the directory is closed
    },
    readDb: once(async () => {
      const c = getConfig();
      if (c.readDb === 'pglite') {
        ctx.lockDataDir();
        if (!existsSync(pgliteReadDbDir(c))) throw unavailable(`No read models at ${pgliteReadDbDir(c)}`);
      }
      const readDb = await opening('read database', () => openReadDb(c));
      closers.push(() => readDb.close());
      await migrate(readDb, MIGRATIONS_DIR);
      return readDb;
    }),
    blobs: once(async () => {
      const codec = await ctx.codec();
      if (!codec) throw unavailable(`No master key: set MASTER_KEY, or keep ${MASTER_KEY_FILE} in DATA_DIR`);
      const blobs = await opening('blob store', () => openBlobStore(getConfig(), codec));
      closers.push(() => blobs.close());
      return blobs;
    }),
    documentInfra: once(async () => {
      const codec = await ctx.codec();
      if (!codec) throw unavailable(`No master key: set MASTER_KEY, or keep ${MASTER_KEY_FILE} in DATA_DIR`);
      const readDb = await ctx.readDb();
      const infra = await opening('document stores', () => openDocumentInfra(getConfig(), { codec, readDb }));
      closers.push(() => infra.close());
      return infra;
    }),
    readModels: once(async () => readModelProjections({ blobs: await ctx.blobs() })),
    commandContext: (actorId) => ({
      actorId, requestId: null, correlationId: uuidv7(), causationId: null, now: () => new Date(), newId: () => uuidv7(),
    }),
    onClose(close) {
      closers.push(close);
    },
    async close() {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch {
          // closing is best effort: the process ends next
        }
      }
      lock = undefined;
    },
  };
  return ctx;
}
