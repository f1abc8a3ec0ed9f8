// Retrieval during an embedding-model change: with EMBEDDINGS_PREVIOUS_MODEL set, search stays
// hybrid on the previous model's (complete) space while the new model's space is being filled, and
// switches to the new space once it is complete.
import { createServer, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { retrieve } from '../../src/projections/retrieval.ts';
import { startFakeEmbeddingsServer } from '../support/fake-embeddings-server.ts';

const WAIT_MS = 120_000;
const OLD = 'fake-embed-32';
const NEW = 'fake-embed-16';

async function until<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A loopback proxy that holds every request until open() — the new model "is slow" for as long as the test wants. */
async function startGate(target: string) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    void opened.then(() => {
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    open: () => open(),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('retrieval during an embedding-model change (int)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'evident-model-change-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('searches the previous model\'s complete space while the new one fills, then switches', async () => {
    const embeddings = await startFakeEmbeddingsServer();
    const gate = await startGate(embeddings.url);
    const start = (env: Record<string, string>) => createApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env }), createLogger('silent', false));
    const ownerId = 'owner-1';
    const search = async (app: App) => retrieve({
      db: app.readDb, vectorIndex: app.documentInfra.vectorIndex, embedder: app.documentInfra.embedder,
      previousEmbedder: app.documentInfra.previousEmbedder, space: await app.vectorIndexer.retrievalSpace(),
    }, { ownerId, text: 'quince orchard', limit: 5 });
    /** The vector side alone, with the query embedded by the model of the space searched: proves vector hits are there. */
    const vectorHits = async (app: App, model: 'previous' | 'current') => {
      const space = (await app.vectorIndexer.retrievalSpace())!;
      const embedder = model === 'previous' ? app.documentInfra.previousEmbedder! : app.documentInfra.embedder!;
      const [vector] = await embedder.embed(['quince orchard']);
      return (await app.documentInfra.vectorIndex.search(space, vector!, { ownerId }, 5)).length;
    };
    const texts = ['# Orchard\n\nThe quince tree was planted in 1911.\n', '# Shed\n\nTools for the quince orchard.\n', '# Pond\n\nCarp and reeds.\n'];

    let app = await start({ EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: OLD });
    try {
      const ids: string[] = [];
      for (const [i, text] of texts.entries()) {
        const blob = await app.documentInfra.blobs.put(ownerId, (async function* () { yield Buffer.from(text); })(), { maxBytes: 1024 });
        ids.push((await app.documents.uploadDocument({ ownerId, name: `doc-${i}.md`, mediaType: 'text/markdown', ...blob }, app.commandContext(ownerId))).documentId);
      }
      const models = async () => (await app.readDb.query<{ embedding_model: string | null }>(
        'SELECT embedding_model FROM documents WHERE document_id = ANY($1::text[])', [ids])).rows.map((row) => row.embedding_model);
      await until(async () => { const m = await models(); return m.length === 3 && m.every((x) => x === `openai:${OLD}`); }, 'indexing with the old model');
      const space = await until(() => app.vectorIndexer.retrievalSpace(), 'the old space');
      await until(async () => (await app.documentInfra.vectorIndex.count(space, { ownerId })) > 0, 'vectors in the old space');
      expect(await search(app)).toMatchObject({ mode: 'hybrid', vectorSpace: 'current', embeddingModel: `openai:${OLD}` });
      await app.close();

      // The new model sits behind the gate: re-embedding cannot finish until the test opens it.
      app = await start({ EMBEDDINGS_BASE_URL: gate.url, EMBEDDINGS_MODEL: NEW, EMBEDDINGS_PREVIOUS_MODEL: OLD, EMBEDDINGS_PREVIOUS_BASE_URL: embeddings.url });
      const during = await search(app);
      expect(during).toMatchObject({ mode: 'hybrid', vectorSpace: 'previous', embeddingModel: `openai:${OLD}` });
      expect(during.hits.map((hit) => hit.documentId)).toContain(ids[0]);
      expect(await vectorHits(app, 'previous')).toBeGreaterThan(0);

      gate.open();
      // Throughout the switch every search is hybrid, on the previous space or (at the end) the new one.
      const seen = new Set<string>();
      await until(async () => {
        const result = await search(app);
        expect(result.mode).toBe('hybrid');
        expect(result.hits.length).toBeGreaterThan(0);
        seen.add(result.vectorSpace!);
        return result.vectorSpace === 'current' && result;
      }, 'the switch to the new space');
      expect(await models()).toEqual([`openai:${NEW}`, `openai:${NEW}`, `openai:${NEW}`]);
      expect(await search(app)).toMatchObject({ mode: 'hybrid', vectorSpace: 'current', embeddingModel: `openai:${NEW}` });
      expect(await vectorHits(app, 'current')).toBeGreaterThan(0);
      expect([...seen].every((role) => role === 'previous' || role === 'current')).toBe(true);
    } finally {
      await app.close();
      await gate.close();
      await embeddings.close();
    }
  }, 180_000);

  it('is lexical only during a change without a previous model configured, as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-model-change-'));
    const embeddings = await startFakeEmbeddingsServer();
    const gate = await startGate(embeddings.url);
    const start = (env: Record<string, string>) => createApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', ...env }), createLogger('silent', false));
    let app = await start({ EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: OLD });
    try {
      const ownerId = 'owner-2';
      const blob = await app.documentInfra.blobs.put(ownerId, (async function* () { yield Buffer.from('# Orchard\n\nThe quince tree.\n'); })(), { maxBytes: 1024 });
      const { documentId } = await app.documents.uploadDocument({ ownerId, name: 'o.md', mediaType: 'text/markdown', ...blob }, app.commandContext(ownerId));
      await until(async () => (await app.readDb.query<{ m: string | null }>('SELECT embedding_model AS m FROM documents WHERE document_id = $1', [documentId])).rows[0]?.m, 'indexing');
      await app.close();
      app = await start({ EMBEDDINGS_BASE_URL: gate.url, EMBEDDINGS_MODEL: NEW });
      expect(await app.vectorIndexer.retrievalSpace()).toBeNull();
      const result = await retrieve({ db: app.readDb, vectorIndex: app.documentInfra.vectorIndex, embedder: app.documentInfra.embedder,
        previousEmbedder: app.documentInfra.previousEmbedder, space: await app.vectorIndexer.retrievalSpace() }, { ownerId, text: 'quince', limit: 5 });
      expect(result).toMatchObject({ mode: 'lexical', vectorSpace: null, embeddingModel: null });
      expect(result.hits[0]?.documentId).toBe(documentId);
    } finally {
      gate.open();
      await app.close();
      await gate.close();
      await embeddings.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
