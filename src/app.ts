import { createAccountAdminCommands, type AccountAdminCommands } from './commands/account-admin.ts';
import { createAccountCommands, type AccountCommands } from './commands/accounts.ts';
import { systemActor, type CommandContext } from './commands/context.ts';
import { createConversationKnowledgeCommands, type ConversationKnowledgeCommands } from './commands/conversation-knowledge.ts';
import { createConversationCommands, type ConversationCommands } from './commands/conversations.ts';
import { createDocumentCommands, type DocumentCommands } from './commands/documents.ts';
import { createKnowledgeBaseCommands, type KnowledgeBaseCommands } from './commands/knowledge-bases.ts';
import { openDocumentInfra, type DocumentInfra } from './app-documents.ts';
import { createEmailClaims } from './commands/email-claims.ts';
import { startEarly, type EarlyStores } from './early-start.ts';
import { createProjectionCommands, type ProjectionCommands } from './commands/projections.ts';
import { createUserCommands, type UserCommands } from './commands/users.ts';
import { createApiKeyCommands, type ApiKeyCommands } from './commands/api-keys.ts';
import { createUsageCommands, type UsageCommands } from './commands/usage.ts';
import { createRetentionCommands, type RetentionCommands } from './commands/retention.ts';
import { RetentionReactor } from './projections/retention-reactor.ts';
import { createProviderKeyCommands, type ProviderKeyCommands } from './commands/provider-keys.ts';
import { OpenAiCompatibleProvider } from './infra/ai/openai-compatible.ts';
import { createChatProviders } from './infra/ai/providers.ts';
import { createProviderKeyCipher } from './infra/ai/provider-key-cipher.ts';
import { ProviderRegistry } from './infra/ai/provider-registry.ts';
import { ProviderError, type ChatProvider } from './infra/ai/provider.ts';
import type { ChainStore } from './infra/audit/chain-store.ts';
import { loadSigningKey, publicKeyPem } from './infra/audit/signing-key.ts';
import { createBlindIndex } from './infra/blind-index.ts';
import type { Config } from './infra/config.ts';
import type { EventStore } from './infra/event-store/port.ts';
import { SharedLogTail } from './infra/event-store/shared-log-tail.ts';
import { uuidv7 } from './infra/ids.ts';
import type { Logger } from './infra/logger.ts';
import { createLoginThrottle } from './infra/login-throttle.ts';
import { Metrics, meteredProvider, meteredStore } from './infra/metrics.ts';
import type { PersonalDataCodec } from './infra/personal-data/codec.ts';
import { loadMasterKey } from './infra/personal-data/master-key.ts';
import { createAppPubSub, type AppPubSub } from './infra/pubsub.ts';
import { migrate } from './infra/read-db/migrations.ts';
import type { ReadDb } from './infra/read-db/port.ts';
import { ChainSealer } from './projections/chain-sealer.ts';
import { ingestionQueue } from './projections/documents-queries.ts';
import { SealerThread } from './infra/audit/sealer-thread.ts';
import { ReplyReactor } from './projections/reply-reactor.ts';
import { otherActiveAdmins } from './projections/users-queries.ts';
import { SessionExpiry } from './projections/session-expiry.ts';
import { SessionWatch } from './projections/session-watch.ts';
import { ProjectionRunner } from './projections/runner.ts';
import { IngestionReactor } from './projections/ingestion/ingestion-reactor.ts';
import { ReembeddingReactor } from './projections/ingestion/reembedding-reactor.ts';
import { retrieve } from './projections/retrieval.ts';
import { createVectorIndexer, type VectorIndexer } from './projections/vector-indexer.ts';
import {
  createCodec, createErasureScrubber, domainStore, MIGRATIONS_DIR, openChainStore, openKeyStore, openLog, openReadDb, readModelProjections, sealerTarget,
} from './stores.ts';

export { MIGRATIONS_DIR };
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
  /** Roles, reactivation, password resets, session revocation, the sign-up policy and invites (docs/accounts.md). */
  accountAdmin: AccountAdminCommands;
  conversations: ConversationCommands;
  documents: DocumentCommands;
  /** The vector index kept from DocumentIndexed events; activeSpace() is the one retrieval searches. */
  vectorIndexer: VectorIndexer;
  /** Extracts, chunks and embeds uploaded documents (leased: one instance at a time). */
  ingestion: IngestionReactor;
  knowledgeBases: KnowledgeBaseCommands;
  conversationKnowledge: ConversationKnowledgeCommands;
  /** File bytes, the vector index and the embedding model (null: lexical retrieval only). */
  documentInfra: DocumentInfra;
  /** Operator actions on projections (parking an event), recorded in the log. */
  projectionCommands: ProjectionCommands;
  providers: ProviderRegistry;
  /** Provider API keys set at run time by admins, sealed under the master key in the log. */
  providerKeys: ProviderKeyCommands;
  pubsub: AppPubSub;
  replies: ReplyReactor;
  /** Ends live subscriptions of sessions that end (logout, password change, deactivation, erasure, expiry). */
  sessions: SessionWatch;
  /** The log's tail, read once for every live subscription that follows it (the audit feed, document updates). */
  liveLog: Pick<EventStore, 'subscribeToAll'>;
  /** Retention policy and legal holds (docs/audit.md); the reactor records expiries. */
  retention: RetentionCommands;
  retentionReactor: RetentionReactor;
  /** API keys for programs (docs/api-keys.md). */
  apiKeys: ApiKeyCommands;
  /** Daily token quotas, and the quota check before a reply is asked for. */
  usage: UsageCommands;
  /** The hash chain over the raw log and its signed checkpoints, sealed in the background (docs/audit.md). */
  chain: ChainStore;
  /** Seals the raw log into `chain`; waitFor(position) says when a position is covered. */
  sealer: ChainSealer;
  /** The public half of the checkpoint signing key (SPKI PEM): all `verify` needs. */
  signingPublicKey(): string;
  /** Records SessionExpired for sessions whose expiry passed without a logout. */
  sessionExpiry: SessionExpiry;
  /** A command context for an actor, with the real clock and UUIDv7 ids. */
  commandContext(actorId: string | null, requestId?: string | null): CommandContext;
  /** This instance's Prometheus metrics (GET /metrics). */
  metrics: Metrics;
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

    const keyStore = await openKeyStore(config);
    closers.push(() => keyStore.close());

    const log = await openLog(config);
    closers.push(() => log.close());

    const chain = await openChainStore(config);
    closers.push(() => chain.close());
    const signingKey = loadSigningKey({ signingKey: config.chainSigningKey, dataDir: config.dataDir });

    const codec = createCodec(keyStore, masterKey);
    const metrics = new Metrics();
    const store = meteredStore(domainStore(log, codec), metrics);

    const readDb: ReadDb = config.readDb === 'pglite' && earlyReadDb ? await earlyReadDb : await openReadDb(config);
    if (!earlyReadDb) closers.push(() => readDb.close());

    // Seals the raw log as stored (ciphertext of personal fields), behind the writers.
    // Its reading and hashing run in a thread of its own (SealerThread), beside the writers.
    const chainLogger = logger.child({ component: 'chain' });
    const sealer = new ChainSealer({
      log, chain, signingKey, leases: readDb, logger: chainLogger, batches: new SealerThread(sealerTarget(config), chainLogger),
    });
    sealer.start();
    closers.push(() => sealer.stop());

    const documentInfra = await openDocumentInfra(config, { codec, readDb });
    closers.push(() => documentInfra.close());
    logger.info(documentInfra.description, 'documents: vector index and embedder');

    const applied = await migrate(readDb, MIGRATIONS_DIR);
    if (applied.length > 0) logger.info({ applied }, 'read-model migrations applied');

    const readModels = readModelProjections({ blobs: documentInfra.blobs });
    const projections = new ProjectionRunner({
      store, db: readDb, projections: readModels, logger: logger.child({ component: 'projections' }),
      batchSize: config.projectionBatchSize,
    });
    await projections.start();
    closers.push(() => projections.stop());

    const vectorIndexer = createVectorIndexer({
      store, readDb, blobs: documentInfra.blobs, vectorIndex: documentInfra.vectorIndex, embedder: documentInfra.embedder,
      previousEmbedder: documentInfra.previousEmbedder, logger: logger.child({ component: 'vector-index' }),
    });
    vectorIndexer.start();
    closers.push(() => vectorIndexer.stop());

    const emailKey = createBlindIndex(masterKey, 'email');
    const emailClaims = createEmailClaims(store, emailKey);
    const retention = createRetentionCommands({ store, readDb });
    const scrubber = createErasureScrubber({
      store, readDb, keyStore, codec, blobs: documentInfra.blobs, readModels, projections, vectorIndexer, vectorIndex: documentInfra.vectorIndex,
      logger: logger.child({ component: 'erasure-scrub' }),
    });
    scrubber.start();
    closers.push(() => scrubber.stop());
    const users = createUserCommands({
      store, emailClaims, eraseKey: (subjectId) => codec.erase(subjectId), holdsCovering: (userId) => retention.holdsCovering(userId),
      scrubbed: async (position) => {
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

    const providerKeys = createProviderKeyCommands({ store, cipher: createProviderKeyCipher(masterKey) });
    const chatProviders: ChatProvider[] = [
      ...(config.openai
        ? [new OpenAiCompatibleProvider({
          baseUrl: config.openai.baseUrl, apiKey: async () => (await providerKeys.keyFor('openai')) ?? config.openai?.apiKey,
          connectTimeoutMs: config.providerConnectTimeoutMs, idleTimeoutMs: config.providerTimeoutMs,
        })]
        : []),
      ...(await createChatProviders(config, (provider) => providerKeys.keyFor(provider))),
    ];
    const providers = new ProviderRegistry(chatProviders.map((provider) => meteredProvider(provider, metrics)), { defaultModel: config.defaultModel });
    const pubsubHandle = createAppPubSub(config.redisUrl, (error) => logger.warn({ err: error }, 'pub/sub command failed'));
    closers.push(() => pubsubHandle.close());

    const usage = createUsageCommands({ store, readDb });
    const conversations = createConversationCommands({
      store, models: providers, defaultModel: config.defaultModel, checkQuota: (userId, now) => usage.checkQuota(userId, now),
      providerNotConfigured: () => new ProviderError('PROVIDER_NOT_CONFIGURED', 'No AI provider is configured: set OPENAI_BASE_URL, ANTHROPIC_API_KEY, GEMINI_API_KEY or OLLAMA_BASE_URL'),
      requestCancel: (replyId, by) => pubsubHandle.pubsub.publish('replyControl', { replyId, action: 'cancel', ...by }),
    });

    const commandContext = (actorId: string | null, requestId: string | null = null): CommandContext => ({
      actorId, requestId, correlationId: uuidv7(), causationId: null, now: () => new Date(), newId: () => uuidv7(),
    });
    const replies = new ReplyReactor({
      store, readDb, projections, providers, pubsub: pubsubHandle.pubsub, logger: logger.child({ component: 'replies' }),
      newContext: () => commandContext(systemActor('assistant-replies')),
      // Replies in conversations with knowledge attached are answered from it, with numbered sources.
      knowledge: {
        retrieve: async (query) => {
          const { vectorIndex, embedder, previousEmbedder } = documentInfra;
          const result = await retrieve({ db: readDb, vectorIndex, embedder, previousEmbedder, space: await vectorIndexer.retrievalSpace() }, {
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
      newContext: () => commandContext(systemActor('ingestion')),
      onProgress: (progress) => void pubsubHandle.pubsub.publish('documentProgress', progress.documentId, { ...progress }),
    });
    ingestion.start();
    closers.push(() => ingestion.stop());
    if (documentInfra.embedder) {
      // Documents indexed before this embedding model was configured get its vectors too; retrieval
      // switches to its space once every document is in it.
      const reembedding = new ReembeddingReactor({
        store, readDb, blobs: documentInfra.blobs, documents, embedder: documentInfra.embedder,
        logger: logger.child({ component: 'reembedding' }), newContext: () => commandContext(systemActor('reembedding')),
        concurrency: config.documents.ingestionConcurrency,
        onProgress: (progress) => void pubsubHandle.pubsub.publish('documentProgress', progress.documentId, { ...progress }),
      });
      reembedding.start();
      closers.push(() => reembedding.stop());
    }

    const retentionReactor = new RetentionReactor({
      store, readDb, retention, now: () => new Date(), newContext: () => commandContext(null),
      logger: logger.child({ component: 'retention' }),
    });
    retentionReactor.start();
    closers.push(() => retentionReactor.stop());

    const sessions = new SessionWatch({ store, logger: logger.child({ component: 'sessions' }) });
    const liveLog = new SharedLogTail(store);
    closers.push(() => liveLog.close());
    await sessions.start();
    closers.push(() => sessions.stop());
    const sessionExpiry = new SessionExpiry({
      store, readDb, logger: logger.child({ component: 'session-expiry' }), newContext: () => commandContext(systemActor('session-expiry')),
    });
    sessionExpiry.start();
    closers.push(() => sessionExpiry.stop());

    metrics.setSources({
      projections: () => projections.status(),
      sealer: async () => {
        const [logHead, chainHead] = await Promise.all([log.headPosition(), chain.head()]);
        return { leased: sealer.leased, position: chainHead.position, lagEvents: logHead > chainHead.position ? Number(logHead - chainHead.position) : 0 };
      },
      ingestionQueue: () => ingestionQueue(readDb),
    });

    return {
      metrics, config, logger, store, readDb, codec, projections, users, accounts, conversations, providers, providerKeys, documentInfra,
      documents, vectorIndexer, ingestion,
      knowledgeBases: createKnowledgeBaseCommands({ store }),
      accountAdmin: createAccountAdminCommands({ store, otherActiveAdmins: (userId) => otherActiveAdmins(readDb, userId) }),
      conversationKnowledge: createConversationKnowledgeCommands({ store }),
      projectionCommands: createProjectionCommands({ store, projections }),
      pubsub: pubsubHandle.pubsub, liveLog, replies, sessions, retention, retentionReactor, sessionExpiry, commandContext, close: closeAll,
      apiKeys: createApiKeyCommands({ store, readDb }), usage,
      chain, sealer, signingPublicKey: () => publicKeyPem(signingKey),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
