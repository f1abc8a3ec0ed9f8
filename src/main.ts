// `npm start`. Only node: built-ins are imported statically: the compile cache (compiled and
// type-stripped modules, kept in the OS temporary directory) must be on before the application loads.
import { enableCompileCache } from 'node:module';
import { createServer, type Server } from 'node:net';

enableCompileCache();

const SHUTDOWN_TIMEOUT_MS = 10_000;

const { ConfigError, loadConfig, loadDotEnv } = await import('./infra/config.ts');
let config;
try {
  loadDotEnv();
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

// Tracing only when asked for: the OpenTelemetry SDK is not loaded otherwise.
const stopTracing = process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? (await import('./infra/tracing-setup.ts')).startTracing() : undefined;
const errorTracking = process.env.SENTRY_DSN ? await import('./infra/error-tracking.ts') : undefined;
await errorTracking?.startErrorTracking(process.env.SENTRY_DSN!, config.env);
const { createLogger } = await import('./infra/logger.ts');
const logger = createLogger(config.logLevel);

// Read and checked before the port is taken: a wrong certificate path fails at once.
const { readTlsFiles } = await import('./infra/tls.ts');
let tls;
try {
  tls = readTlsFiles(config);
} catch (error) {
  logger.fatal(`TLS: ${(error as Error).message}`);
  logger.flush();
  process.exit(1);
}

/** Binds the port and keeps it while the stores open, so that a busy port fails at once, not after the migrations. */
function holdPort(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => resolve(probe));
  });
}

const held = config.port === 0 ? undefined : await holdPort(config.port, config.host).catch((error: NodeJS.ErrnoException) => {
  const reason = error.code === 'EADDRINUSE' ? 'the port is in use' : error.message;
  logger.fatal({ err: error }, `could not listen on ${config.host}:${config.port}: ${reason}`);
  logger.flush();
  process.exit(1);
});

function fatal(message: string) {
  return async (error: unknown): Promise<never> => {
    logger.fatal({ err: error }, `${message}: ${(error as Error).message}`);
    logger.flush();
    process.exit(1);
  };
}

const { startEarly } = await import('./early-start.ts');
let early;
try {
  early = startEarly(config);
} catch (error) {
  await fatal('start failed')(error);
}
const [{ createApp }, { startServer }] = await Promise.all([import('./app.ts'), import('./graphql/server.ts')]);

let stopping = false;
const appReady = createApp(config, logger, early).catch(fatal('start failed'));
const serving = appReady.then(async (app) => {
  if (stopping) return undefined; // a signal came during the start: shutdown() takes it from here
  await new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve()));
  return startServer(app, { port: config.port, host: config.host, tls }).catch(async (error: unknown) => {
    await app.close();
    return fatal(`could not listen on ${config.host}:${config.port}`)(error);
  });
});

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  const timer = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  // A start under way finishes first: the stores are never left half-opened or half-migrated.
  const app = await appReady;
  const server = await serving;
  // Replies being generated are recorded as interrupted, and their subscribers told, before the
  // connections close.
  await app.replies.stop();
  await server?.close();
  await app.close();
  await stopTracing?.().catch(() => {});
  await errorTracking?.flushErrorTracking().catch(() => {});
  logger.info('stopped');
  logger.flush();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const [app, server] = await Promise.all([appReady, serving]);
if (server && !stopping) {
  logger.info({
    url: server.url, eventStore: config.eventStore, readDb: config.readDb, pubsub: config.redisUrl ? 'redis' : 'memory',
    providers: app.providers.isConfigured ? 'openai-compatible' : 'none', dataDir: config.dataDir,
  }, 'Evident is ready');
  // The one line a person looks for, whatever the log level.
  if (config.logLevel !== 'silent') console.log(`Evident is listening on ${server.url}`);
}
