import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiCompatibleEmbedder } from '../../../src/infra/embedders/openai-compatible-embedder.ts';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { getDocument } from '../../../src/projections/documents-queries.ts';
import { retrieve } from '../../../src/projections/retrieval.ts';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../../support/fake-embeddings-server.ts';
import { utf8 } from '../../infra/extraction/fixtures.ts';
import { OWNER, startPipeline } from './pipeline-harness.ts';

const SECRET_TEXT = 'the vault code is 4417 and the spare key is under the mat';

describe('ingestion with an embedding model that fails', () => {
  let server: FakeEmbeddingsServer;
  beforeAll(async () => {
    server = await startFakeEmbeddingsServer();
  });
  afterAll(async () => server?.close());

  it.each([
    ['fake-embed-500', 'unavailable'],
    ['fake-embed-wrong-dim', 'bad-response'],
  ])('%s fails the document at embedding with reason %s, and quotes nothing of it', async (model, reason) => {
    const db = await PgliteReadDb.open();
    const embedder = new OpenAiCompatibleEmbedder({ baseUrl: server.url, model, apiKey: 'k', dimensions: 8 });
    const p = await startPipeline({ readDb: db, vectorIndex: await PgvectorIndex.open(db), embedder });
    try {
      const doc = await p.upload('vault.md', 'text/markdown', utf8(`# Vault\n\n${SECRET_TEXT}`));
      const failed = await p.settled(doc.documentId);
      expect(failed.type).toBe('DocumentIngestionFailed');
      expect(failed.data).toMatchObject({ stage: 'embedding', reason });
      expect(JSON.stringify(failed.data)).not.toContain('vault code');
      expect(await getDocument(db, OWNER, doc.documentId)).toMatchObject({ status: 'failed', indexed_version: null, failure_stage: 'embedding' });
    } finally {
      await p.stop();
      await db.close();
    }
  }, 120_000);

  it('retrieval answers from the lexical side, and says so, when the model fails on the query', async () => {
    const db = await PgliteReadDb.open();
    const p = await startPipeline({ readDb: db, vectorIndex: null, embedder: null });
    try {
      const doc = await p.upload('owls.md', 'text/markdown', utf8('# Owls\n\nBarn owls hunt voles over the meadow at dusk.'));
      await p.settled(doc.documentId);
      const down = new OpenAiCompatibleEmbedder({ baseUrl: server.url, model: 'fake-embed-500', apiKey: 'k', dimensions: 8 });
      const result = await retrieve({ db, vectorIndex: await PgvectorIndex.open(db), embedder: down }, { ownerId: OWNER, text: 'owls voles', limit: 3 });
      expect(result.mode).toBe('lexical');
      expect(result.hits[0]?.documentId).toBe(doc.documentId);
    } finally {
      await p.stop();
      await db.close();
    }
  }, 120_000);
});
