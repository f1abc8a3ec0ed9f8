import { join } from 'node:path';
import { createAccountCommands, type AccountCommands } from './commands/accounts.ts';
import type { CommandContext } from './commands/context.ts';
import { createConversationKnowledgeCommands, type ConversationKnowledgeCommands } from './commands/conversation-knowledge.ts';
import { createConversationCommands, type ConversationCommands } from './commands/conversations.ts';
import { createDocumentCommands, type DocumentCommands } from './commands/documents.ts';
import { createKnowledgeBaseCommands, type KnowledgeBaseCommands } from './commands/knowledge-bases.ts';
import { openDocumentInfra, type DocumentInfra } from './app-documents.ts';
import { createEmailClaims } from './commands/email-claims.ts';
import { startEarly, type EarlyStores } from './early-start.ts';
import { ERASURE_EVENT, ErasureScrubber } from './projections/erasure-scrub.ts';
import { createProjectionCommands, type ProjectionCommands } from './commands/projections.ts';
import { createUserCommands, type UserCommands } from './commands/users.ts';
import { domainUpcasting } from './domain/event-versions.ts';
import { personalDataRules } from './domain/personal-data.ts';
import { OpenAiCompatibleProvider } from './infra/ai/openai-compatible.ts';
import { ProviderRegistry } from './infra/ai/provider-registry.ts';
import { ProviderError, type ChatProvider } from './infra/ai/provider.ts';
import { createBlindIndex } from './infra/blind-index.ts';
import type { Config } from './infra/config.ts';
import type { EventStore } from './infra/event-store/port.ts';
import { PostgresEventStore } from './infra/event-store/postgres-event-store.ts';
import { SqliteEventStore } from './infra/event-store/sqlite-event-store.ts';
import { UpcastingEventStore } from './infra/event-store/upcasting-event-store.ts';
import { uuidv7 } from './infra/ids.ts';
import type { Logger } from './infra/logger.ts';
import { createLoginThrottle } from './infra/login-throttle.ts';
import { PersonalDataCodec } from './infra/personal-data/codec.ts';
import { EncryptingEventStore } from './infra/personal-data/encrypting-event-store.ts';
import type { KeyStore } from './infra/personal-data/key-store.ts';
import { loadMasterKey } from './infra/personal-data/master-key.ts';
import { PostgresKeyStore } from './infra/personal-data/postgres-key-store.ts';
import { createAppPubSub, type AppPubSub } from './infra/pubsub.ts';
import { SqliteKeyStore } from './infra/personal-data/sqlite-key-store.ts';
import { migrate } from './infra/read-db/migrations.ts';
import { PgliteWorkerReadDb } from './infra/read-db/pglite-worker-read-db.ts';
import type { ReadDb } from './infra/read-db/port.ts';
import { PostgresReadDb } from './infra/read-db/postgres-read-db.ts';
import { conversationsProjection } from './projections/conversations-projection.ts';
import { ReplyReactor } from './projections/reply-reactor.ts';
import { SessionWatch } from './projections/session-watch.ts';
import { ProjectionRunner } from './projections/runner.ts';
import { usersProjection } from './projections/users-projection.ts';
import { createDocumentChunksProjection } from './projections/document-chunks-projection.ts';
import { documentsProjection } from './projections/documents-projection.ts';
import { IngestionReactor } from './projections/ingestion/ingestion-reactor.ts';
import { ReembeddingReactor } from './projections/ingestion/reembedding-reactor.ts';
import { retrieve } from './projections/retrieval.ts';
import { createVectorIndexer, type VectorIndexer } from './projections/vector-indexer.ts';

export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url).pathname;
/** How long eraseUser waits for the read-model scrub before answering anyway. */
const ERASURE_SCRUB_WAIT_MS = 30_000;

export interface App {
  config: Config;
  logger: Logger;
  /** The log, with personal fields encrypted on the way in, decrypted and upcast on the way out. */
  store: EventStore;
  readDb: ReadDb;
  codec: PersonalDataCodec;
  projections: ProjectionRunner;
  users: UserCommands;
  accounts: AccountCommands;
  conversations: ConversationCommands;
  documents: DocumentCommands;
  /** The vector index kept from DocumentIndexed events; activeSpace() is the one retrieval searches. */
  vectorIndexer: VectorIndexer;
  knowledgeBases: KnowledgeBaseCommands;
  conversationKnowledge: ConversationKnowledgeCommands;
  /** File bytes, the vector index and the embedding model (null: lexical retrieval only). */
  documentInfra: DocumentInfra;
  /** Operator actions on projections (parking an event), recorded in the log. */
  projectionCommands: ProjectionCommands;
  providers: ProviderRegistry;
  pubsub: AppPubSub;
  replies: ReplyReactor;
  /** Ends live subscriptions of sessions that end (logout, password change, deactivation, erasure, expiry). */
  sessions: SessionWatch;
  /** A command context for an actor, with the real clock and UUIDv7 ids. */
  commandContext(actorId: string | null, requestId?: string | null): CommandContext;
  close(): Promise<void>;
}

/** The composition root: the only place that chooses adapters. */
export async function createApp(config: Config, logger: Logger, early: EarlyStores = startEarly(config)): Promise<App> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((error) => logger.error({ err: error }, 'error while closing'));
  };
  const { lock, readDb: earlyReadDb } = early;
  if (lock) closers.push(async () => lock.release());
  if (earlyReadDb) closers.push(async () => (await earlyReadDb.catch(() => undefined))?.close());
  try {
    const masterKey = loadMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir });

    const keyStore: KeyStore = config.eventStore === 'postgres'
      ? await PostgresKeyStore.open(config.databaseUrl!)
      : SqliteKeyStore.inDataDir(config.dataDir);
    closers.push(() => keyStore.close());

    const log: EventStore = config.eventStore === 'postgres'
      ? await PostgresEventStore.open({ connectionString: config.databaseUrl! })
      : new SqliteEventStore(join(config.dataDir, 'events.sqlite'));
    closers.push(() => log.close());

    const codec = new PersonalDataCodec({ keyStore, masterKey, rules: personalDataRules });
    // Decrypted first, then upcast: upcasters see plaintext under the field names it was stored with.
    const store = new UpcastingEventStore(new EncryptingEventStore(log, codec), (event) => domainUpcasting.upcast(event));

    const readDb: ReadDb = config.readDb === 'postgres'
      ? await PostgresReadDb.open({ connectionString: config.databaseUrl! })
      : await (earlyReadDb ?? PgliteWorkerReadDb.open({ dataDir: join(config.dataDir, 'read-models') }));
    if (!earlyReadDb) closers.push(() => readDb.close());

    const documentInfra = await openDocumentInfra(config, { codec, readDb });
    closers.push(() => documentInfra.close());
    logger.info(documentInfra.description, 'documents: vector index and embedder');

    const applied = await migrate(readDb, MIGRATIONS_DIR);
    if (applied.length > 0) logger.info({ applied }, 'read-model migrations applied');

    const readModels = [usersProjection, conversationsProjection, documentsProjection, createDocumentChunksProjection({ blobs: documentInfra.blobs })];
    const projections = new ProjectionRunner({
      store, db: readDb, projections: readModels, logger: logger.child({ component: 'projections' }),
      batchSize: config.projectionBatchSize,
    });
    await projections.start();
    closers.push(() => projections.stop());

    const vectorIndexer = createVectorIndexer({
      store, readDb, blobs: documentInfra.blobs, vectorIndex: documentInfra.vectorIndex, embedder: documentInfra.embedder,
      logger: logger.child({ component: 'vector-index' }),
    });
    vectorIndexer.start();
    closers.push(() => vectorIndexer.stop());

    const emailKey = createBlindIndex(masterKey, 'email');
    const emailClaims = createEmailClaims(store, emailKey);
    const scrubber = new ErasureScrubber({
      store, readDb, logger: logger.child({ component: 'erasure-scrub' }),
      // Every table of the projections that delete rows on an erasure.
      tables: readModels.filter((p) => p.eventTypes.includes(ERASURE_EVENT)).flatMap((p) => p.tables),
      moreTables: async () => await documentInfra.vectorIndex.tables?.() ?? [],
      projectionsReached: async (position, timeoutMs) =>
        await projections.waitFor(position, { eventTypes: [ERASURE_EVENT], timeoutMs }) && await vectorIndexer.waitFor(position, timeoutMs),
      scrubKeys: async () => keyStore.scrub?.(),
    });
    scrubber.start();
    closers.push(() => scrubber.stop());
    const users = createUserCommands({
      store, emailClaims, eraseKey: (subjectId) => codec.erase(subjectId),
      scrubbed: async (position) => {
        scrubber.notify();
        if (!(await scrubber.waitForScrub(position, ERASURE_SCRUB_WAIT_MS))) {
          logger.warn({ position: position.toString() }, 'erasure recorded, read-model scrub still pending; it completes in the background');
        }
      },
    });
    const throttle = createLoginThrottle({
      settings: config.loginThrottle, redisUrl: config.redisUrl,
      onRedisError: (error) => logger.warn({ err: error }, 'login throttle: Redis failed; using per-instance memory limits'),
    });
    closers.push(() => throttle.close());
    const accounts = createAccountCommands({
      store, emailClaims, emailKey, sessionTtlMs: config.sessionTtlMs, throttle, addressKey: createBlindIndex(masterKey, 'login-address'),
    });

    const chatProviders: ChatProvider[] = config.openai
      ? [new OpenAiCompatibleProvider({
        baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey,
        connectTimeoutMs: config.providerConnectTimeoutMs, idleTimeoutMs: config.providerTimeoutMs,
      })]
      : [];
    const providers = new ProviderRegistry(chatProviders, { defaultModel: config.defaultModel });
    const pubsubHandle = createAppPubSub(config.redisUrl, (error) => logger.warn({ err: error }, 'pub/sub command failed'));
    closers.push(() => pubsubHandle.close());

    const conversations = createConversationCommands({
      store, models: providers, defaultModel: config.defaultModel,
      providerNotConfigured: () => new ProviderError('PROVIDER_NOT_CONFIGURED', 'No AI provider is configured: set OPENAI_BASE_URL (and OPENAI_API_KEY if it needs one)'),
      requestCancel: (replyId) => pubsubHandle.pubsub.publish('replyControl', { replyId, action: 'cancel' }),
    });

    const commandContext = (actorId: string | null, requestId: string | null = null): CommandContext => ({
      actorId, requestId, correlationId: uuidv7(), causationId: null, now: () => new Date(), newId: () => uuidv7(),
    });
    const replies = new ReplyReactor({
      store, readDb, projections, providers, pubsub: pubsubHandle.pubsub, logger: logger.child({ component: 'replies' }),
      newContext: () => commandContext(null),
      // Replies in conversations with knowledge attached are answered from it, with numbered sources.
      knowledge: {
        retrieve: async (query) => {
          const { vectorIndex, embedder } = documentInfra;
          const result = await retrieve({ db: readDb, vectorIndex, embedder, space: await vectorIndexer.activeSpace() }, {
            ownerId: query.ownerId, text: query.question, knowledgeBaseIds: query.knowledgeBaseIds, documentIds: query.documentIds, limit: query.limit,
          });
          return result.hits;
        },
      },
    });
    replies.start();
    closers.push(() => replies.stop());

    const documents = createDocumentCommands({ store });
    const ingestion = new IngestionReactor({
      store, readDb, blobs: documentInfra.blobs, documents, embedder: documentInfra.embedder,
      limits: {
        extraction: config.documents.extraction, chunkTokens: config.documents.chunkTokens,
        overlapTokens: config.documents.overlapTokens, maxBlobBytes: config.documents.maxUploadBytes,
      },
      concurrency: config.documents.ingestionConcurrency, logger: logger.child({ component: 'ingestion' }),
      newContext: () => commandContext(null),
      onProgress: (progress) => void pubsubHandle.pubsub.publish('documentProgress', progress.documentId, { ...progress }),
    });
    ingestion.start();
    closers.push(() => ingestion.stop());
    if (documentInfra.embedder) {
      // Documents indexed before this embedding model was configured get its vectors too; retrieval
      // switches to its space once every document is in it.
      const reembedding = new ReembeddingReactor({
        store, readDb, blobs: documentInfra.blobs, documents, embedder: documentInfra.embedder,
        logger: logger.child({ component: 'reembedding' }), newContext: () => commandContext(null),
        concurrency: config.documents.ingestionConcurrency,
        onProgress: (progress) => void pubsubHandle.pubsub.publish('documentProgress', progress.documentId, { ...progress }),
      });
      reembedding.start();
      closers.push(() => reembedding.stop());
    }

    const sessions = new SessionWatch({ store, logger: logger.child({ component: 'sessions' }) });
    await sessions.start();
    closers.push(() => sessions.stop());

    return {
      config, logger, store, readDb, codec, projections, users, accounts, conversations, providers, documentInfra,
      documents, vectorIndexer,
      knowledgeBases: createKnowledgeBaseCommands({ store }),
      conversationKnowledge: createConversationKnowledgeCommands({ store }),
      projectionCommands: createProjectionCommands({ store, projections }),
      pubsub: pubsubHandle.pubsub, replies, sessions, commandContext, close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
