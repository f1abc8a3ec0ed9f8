// The app's wiring of re-embedding: documents indexed before an embedding model was configured get
// its vectors once the app starts with one, and search turns hybrid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { retrieve } from '../../src/projections/retrieval.ts';
import { startFakeEmbeddingsServer } from '../support/fake-embeddings-server.ts';

const WAIT_MS = 120_000;

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('re-embedding when an embedding model is configured later (int)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'evident-reembed-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('a document indexed lexical-only gets the new model\'s vectors after a restart with an embedder', async () => {
    const embeddings = await startFakeEmbeddingsServer();
    const start = (env: Record<string, string> = {}) => createApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }), createLogger('silent', false));
    const search = (app: App, ownerId: string) => retrieve(
      { db: app.readDb, vectorIndex: app.documentInfra.vectorIndex, embedder: app.documentInfra.embedder, space: null }, { ownerId, text: 'quince', limit: 5 });
    let app = await start();
    try {
      const ownerId = 'owner-1';
      const blob = await app.documentInfra.blobs.put(ownerId, (async function* () { yield Buffer.from('# Orchard\n\nThe quince tree was planted in 1911.\n'); })(), { maxBytes: 1024 });
      const { documentId } = await app.documents.uploadDocument({ ownerId, name: 'orchard.md', mediaType: 'text/markdown', ...blob }, app.commandContext(ownerId));
      const row = async () => (await app.readDb.query<{ status: string; embedding_model: string | null }>('SELECT status, embedding_model FROM documents WHERE document_id = $1', [documentId])).rows[0];
      expect(await until(async () => (await row())?.status === 'indexed' && row(), 'lexical indexing')).toMatchObject({ embedding_model: null });
      expect((await search(app, ownerId)).mode).toBe('lexical');
      await app.close();

      app = await start({ EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: 'fake-embed-32' });
      await until(async () => (await row())?.embedding_model === 'openai:fake-embed-32', 'the document re-embedded');
      const space = await until(() => app.vectorIndexer.activeSpace(), 'an active vector space');
      await until(async () => (await app.documentInfra.vectorIndex.count(space, { documentId }).catch(() => 0)) > 0, 'its vectors in the index');
      const result = await retrieve({ db: app.readDb, vectorIndex: app.documentInfra.vectorIndex, embedder: app.documentInfra.embedder, space }, { ownerId, text: 'quince', limit: 5 });
      expect(result.mode).toBe('hybrid');
      expect(result.hits[0]?.documentId).toBe(documentId);
    } finally {
      await app.close();
      await embeddings.close();
    }
  });
});
