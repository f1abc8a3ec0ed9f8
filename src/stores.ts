// Part of the composition root (app.ts), shared with the CLI (src/cli/context.ts): which adapters
// hold the log, the keys and the read models, opened from the same configuration.
import { join } from 'node:path';
import { domainUpcasting } from './domain/event-versions.ts';
import { personalDataRules } from './domain/personal-data.ts';
import type { ChainStore } from './infra/audit/chain-store.ts';
import { PostgresChainStore } from './infra/audit/postgres-chain-store.ts';
import { SqliteChainStore } from './infra/audit/sqlite-chain-store.ts';
import type { SealWorkerTarget } from './infra/audit/seal-worker.ts';
import type { BlobStore } from './infra/blob-store/port.ts';
import type { Config } from './infra/config.ts';
import type { EventStore } from './infra/event-store/port.ts';
import { PostgresEventStore } from './infra/event-store/postgres-event-store.ts';
import { SqliteEventStore } from './infra/event-store/sqlite-event-store.ts';
import { UpcastingEventStore } from './infra/event-store/upcasting-event-store.ts';
import type { Logger } from './infra/logger.ts';
import { PersonalDataCodec } from './infra/personal-data/codec.ts';
import { EncryptingEventStore } from './infra/personal-data/encrypting-event-store.ts';
import type { KeyStore } from './infra/personal-data/key-store.ts';
import { PostgresKeyStore } from './infra/personal-data/postgres-key-store.ts';
import { SqliteKeyStore } from './infra/personal-data/sqlite-key-store.ts';
import { PgliteReadDb } from './infra/read-db/pglite-read-db.ts';
import type { ReadDb } from './infra/read-db/port.ts';
import { PostgresReadDb } from './infra/read-db/postgres-read-db.ts';
import type { VectorIndex } from './infra/vector-index/port.ts';
import { auditProjection } from './projections/audit-projection.ts';
import { EXPIRY_EVENTS } from './domain/retention/retention.ts';
import { createExpiryShredder } from './projections/expiry-shredder.ts';
import { retentionProjection } from './projections/retention-projection.ts';
import { sharesProjection } from './projections/shares-projection.ts';
import { conversationsProjection } from './projections/conversations-projection.ts';
import { createDocumentChunksProjection } from './projections/document-chunks-projection.ts';
import { documentsProjection } from './projections/documents-projection.ts';
import { ERASURE_EVENT, ErasureScrubber } from './projections/erasure-scrub.ts';
import type { Projection } from './projections/projection.ts';
import type { ProjectionRunner } from './projections/runner.ts';
import { usersProjection } from './projections/users-projection.ts';
import { signupProjection } from './projections/signup-projection.ts';
import { apiKeysProjection } from './projections/api-keys-projection.ts';
import { usageProjection } from './projections/usage-projection.ts';
import type { VectorIndexer } from './projections/vector-indexer.ts';

export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url).pathname;

/** The SQLite log's file in the data directory. */
export function sqliteLogPath(config: Config): string {
  return join(config.dataDir, 'events.sqlite');
}

/** The embedded read database's directory in the data directory. */
export function pgliteReadDbDir(config: Config): string {
  return join(config.dataDir, 'read-models');
}

/** The log as stored: personal fields are ciphertext. */
export async function openLog(config: Config): Promise<EventStore> {
  if (config.eventStore === 'kurrentdb') {
    // Loaded only when configured: the gRPC client is large.
    const { KurrentDbEventStore } = await import('./infra/event-store/kurrentdb-event-store.ts');
    return await KurrentDbEventStore.open({ connectionString: config.kurrentdbUrl! });
  }
  return config.eventStore === 'postgres'
    ? await PostgresEventStore.open({ connectionString: config.databaseUrl! })
    : new SqliteEventStore(sqliteLogPath(config));
}

/** The hash chain over the log, kept beside it (the same SQLite file or PostgreSQL database; with KurrentDB, DATABASE_URL). */
export async function openChainStore(config: Config): Promise<ChainStore> {
  return config.eventStore === 'sqlite'
    ? new SqliteChainStore(sqliteLogPath(config))
    : await PostgresChainStore.open(config.databaseUrl!);
}

/** Where the sealer's own thread finds the log and the chain (SealerThread). */
export function sealerTarget(config: Config): SealWorkerTarget {
  if (config.eventStore === 'kurrentdb') return { eventStore: 'kurrentdb', url: config.kurrentdbUrl!, chainUrl: config.databaseUrl! };
  return config.eventStore === 'postgres'
    ? { eventStore: 'postgres', url: config.databaseUrl! }
    : { eventStore: 'sqlite', path: sqliteLogPath(config) };
}

/** Data keys beside the log: DATA_DIR with SQLite, else PostgreSQL (DATABASE_URL, also with KurrentDB). */
export async function openKeyStore(config: Config): Promise<KeyStore> {
  return config.eventStore === 'sqlite'
    ? SqliteKeyStore.inDataDir(config.dataDir)
    : await PostgresKeyStore.open(config.databaseUrl!);
}

export function createCodec(keyStore: KeyStore, masterKey: Buffer): PersonalDataCodec {
  return new PersonalDataCodec({ keyStore, masterKey, rules: personalDataRules });
}

/** The log with personal fields encrypted on the way in, decrypted and upcast on the way out. */
export function domainStore(log: EventStore, codec: PersonalDataCodec): EventStore {
  // Decrypted first, then upcast: upcasters see plaintext under the field names it was stored with.
  return new UpcastingEventStore(new EncryptingEventStore(log, codec), (event) => domainUpcasting.upcast(event));
}

/** PGlite in the data directory (the caller holds its lock), or PostgreSQL. */
export async function openReadDb(config: Config): Promise<ReadDb> {
  return config.readDb === 'postgres'
    ? await PostgresReadDb.open({ connectionString: config.databaseUrl! })
    : await PgliteReadDb.open({ dataDir: pgliteReadDbDir(config) });
}

/** Every read model kept by the projection runner, in the order they are started. */
export function readModelProjections(deps: { blobs: BlobStore }): Projection[] {
  return [
    usersProjection, conversationsProjection, documentsProjection, createDocumentChunksProjection({ blobs: deps.blobs }), retentionProjection,
    signupProjection, sharesProjection, auditProjection, apiKeysProjection, usageProjection,
  ];
}

export interface ErasureScrubberDeps {
  store: EventStore;
  readDb: ReadDb;
  keyStore: KeyStore;
  readModels: readonly Projection[];
  projections: ProjectionRunner;
  vectorIndexer: VectorIndexer;
  vectorIndex: VectorIndex;
  /** Retention expiries shred item keys and delete blobs before the scrub. */
  codec: PersonalDataCodec;
  blobs: BlobStore;
  logger: Logger;
}

/** Erasures and retention expiries delete rows, then the same scrub removes what the files still hold. */
const SCRUB_EVENTS = [ERASURE_EVENT, ...EXPIRY_EVENTS];

/** Erasure's last step, as the server and the CLI's `erase` run it. */
export function createErasureScrubber(deps: ErasureScrubberDeps): ErasureScrubber {
  const { projections, vectorIndexer } = deps;
  return new ErasureScrubber({
    store: deps.store, readDb: deps.readDb, logger: deps.logger,
    // Every table of the projections that delete rows on an erasure or an expiry (the audit model keeps ids only: nothing to scrub).
    tables: deps.readModels.filter((p) => p.eventTypes.some((type) => SCRUB_EVENTS.includes(type)) && p !== auditProjection).flatMap((p) => p.tables),
    moreTables: async () => await deps.vectorIndex.tables?.() ?? [],
    projectionsReached: async (position, timeoutMs) =>
      await projections.waitFor(position, { eventTypes: SCRUB_EVENTS, timeoutMs }) && await vectorIndexer.waitFor(position, timeoutMs),
    eventTypes: SCRUB_EVENTS,
    beforeScrub: createExpiryShredder({ store: deps.store, readDb: deps.readDb, blobs: deps.blobs, eraseKey: (subjectId) => deps.codec.erase(subjectId) }),
    scrubKeys: async () => deps.keyStore.scrub?.(),
  });
}
