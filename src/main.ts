import { createApp } from './app.ts';
import { ConfigError, loadConfig, loadDotEnv } from './infra/config.ts';
import { createLogger } from './infra/logger.ts';
import { startServer } from './graphql/server.ts';

const SHUTDOWN_TIMEOUT_MS = 10_000;

let config;
try {
  loadDotEnv();
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config.logLevel);
const app = await createApp(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, `start failed: ${(error as Error).message}`);
  process.exit(1);
});

const server = await startServer(app, { port: config.port, host: config.host }).catch(async (error: unknown) => {
  logger.fatal({ err: error }, `could not listen on ${config.host}:${config.port}`);
  await app.close();
  process.exit(1);
});

logger.info({
  url: server.url, eventStore: config.eventStore, readDb: config.readDb, pubsub: config.redisUrl ? 'redis' : 'memory',
  providers: app.providers.isConfigured ? 'openai-compatible' : 'none', dataDir: config.dataDir,
}, 'Evident is ready');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  const timer = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  // Replies being generated are recorded as interrupted, and their subscribers told, before the
  // connections close.
  await app.replies.stop();
  await server.close();
  await app.close();
  logger.info('stopped');
  logger.flush();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
