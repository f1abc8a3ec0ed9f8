import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandContext } from '../../support/domain-event-store.ts';
import { TestEmbedder, TEST_EMBEDDER_MODEL_ID } from '../../support/test-embedder.ts';
import type { ReadDb } from '../../../src/infra/read-db/port.ts';
import { spaceFor, type VectorIndex } from '../../../src/infra/vector-index/port.ts';
import { getDocument, listDocuments } from '../../../src/projections/documents-queries.ts';
import { retrieve } from '../../../src/projections/retrieval.ts';
import { makePdf, utf8 } from '../../infra/extraction/fixtures.ts';
import { chunkRows, OWNER, startPipeline, type Pipeline } from './pipeline-harness.ts';

const MARKDOWN = `# Gardening notes

## Tomatoes

Tomatoes need full sun and deep watering twice a week. Pinch the suckers to keep one main stem.

## Bees

A hive of honeybees pollinates the orchard; keep the hive entrance facing south-east.
`;

const PDF_PAGES = [
  { title: 'Volcano report', lines: ['Basalt flows cooled into hexagonal columns near the crater.'] },
  { title: 'Glaciers', lines: ['The glacier retreated forty metres; moraine gravel covers the valley floor.'] },
];

async function postings(db: ReadDb, chunkIds: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM lexical_postings WHERE chunk_id = ANY($1::text[])', [chunkIds]);
  return rows[0]!.n;
}

async function chunkIdsOf(db: ReadDb, documentId: string): Promise<string[]> {
  const { rows } = await db.query<{ chunk_id: string }>('SELECT chunk_id FROM document_chunks WHERE document_id = $1', [documentId]);
  return rows.map((row) => row.chunk_id);
}

/** The pipeline end to end on one read database; `open` gives a fresh database and its vector index. */
export function pipelineSuite(name: string, open: () => Promise<{ db: ReadDb; vectorIndex: VectorIndex; close(): Promise<void> }>) {
  describe(`${name}: lexical only (no embedder)`, () => {
    let env: Awaited<ReturnType<typeof open>>;
    let p: Pipeline;
    beforeAll(async () => {
      env = await open();
      p = await startPipeline({ readDb: env.db, vectorIndex: null, embedder: null });
    }, 60_000);
    afterAll(async () => {
      await p?.stop();
      await env?.close();
    });

    it('takes a Markdown file and a PDF to indexed, and retrieve finds the right chunk', async () => {
      const md = await p.upload('notes.md', 'text/markdown', utf8(MARKDOWN));
      const pdf = await p.upload('report.pdf', 'application/pdf', await makePdf(PDF_PAGES));
      expect((await p.settled(md.documentId)).type).toBe('DocumentIndexed');
      expect((await p.settled(pdf.documentId)).type).toBe('DocumentIndexed');

      const row = await getDocument(env.db, OWNER, pdf.documentId);
      expect(row).toMatchObject({ status: 'indexed', indexed_version: 1, pages: 2, embedding_model: null, name: 'report.pdf' });
      expect(row!.chunk_count).toBeGreaterThan(0);
      expect((await chunkRows(env.db, md.documentId)).chunks).toBeGreaterThan(0);

      const bees = await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: OWNER, text: 'honeybees hive', limit: 3 });
      expect(bees.mode).toBe('lexical');
      expect(bees.hits[0]).toMatchObject({ documentId: md.documentId, version: 1, documentName: 'notes.md', page: null });
      expect(bees.hits[0]!.text).toContain('honeybees');
      expect(bees.hits[0]!.headingPath).toContain('Bees');

      const glacier = await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: OWNER, text: 'glacier moraine', limit: 3 });
      expect(glacier.hits[0]).toMatchObject({ documentId: pdf.documentId, page: 2 });

      // Another owner sees nothing; a scope of other documents finds nothing of these.
      expect((await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: 'someone-else', text: 'glacier', limit: 3 })).hits).toEqual([]);
      const scoped = await retrieve({ db: env.db, vectorIndex: null, embedder: null },
        { ownerId: OWNER, text: 'glacier honeybees', documentIds: [md.documentId], limit: 5 });
      expect(scoped.hits.length).toBeGreaterThan(0);
      expect(scoped.hits.every((hit) => hit.documentId === md.documentId)).toBe(true);

      const progressed = p.progress.filter((e) => e.documentId === pdf.documentId).map((e) => e.stage);
      expect(progressed).toContain('extracting');
      expect(progressed).toContain('indexing');
    }, 120_000);

    it('fails a malformed file at extraction while a good file beside it is indexed', async () => {
      const bad = await p.upload('broken.pdf', 'application/pdf', utf8('%PDF-1.7\nthis is not really a pdf at all'));
      const good = await p.upload('good.md', 'text/markdown', utf8('# Kites\n\nA kite flies best in steady wind on an open beach.'));
      const failed = await p.settled(bad.documentId);
      expect(failed.type).toBe('DocumentIngestionFailed');
      expect(failed.data).toMatchObject({ stage: 'extraction', reason: 'malformed' });
      expect((await p.settled(good.documentId)).type).toBe('DocumentIndexed');
      expect(await getDocument(env.db, OWNER, bad.documentId)).toMatchObject({ status: 'failed', failure_stage: 'extraction', failure_reason: 'malformed' });
      const hits = await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: OWNER, text: 'kite beach', limit: 2 });
      expect(hits.hits[0]!.documentId).toBe(good.documentId);
    }, 120_000);

    it('keeps serving the old version until the new one is indexed, then only the new one', async () => {
      const doc = await p.upload('pets.md', 'text/markdown', utf8('# Pets\n\nThe parrot repeats every word it hears.'));
      await p.settled(doc.documentId);
      const oldIds = await chunkIdsOf(env.db, doc.documentId);
      // Version 2 fails: version 1 keeps serving.
      const broken = await p.upload('pets.md', 'application/pdf', utf8('%PDF-1.4 broken'), doc.documentId);
      expect((await p.settled(doc.documentId, broken.version)).type).toBe('DocumentIngestionFailed');
      let found = await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: OWNER, text: 'parrot', limit: 3 });
      expect(found.hits.map((h) => [h.documentId, h.version])).toEqual([[doc.documentId, 1]]);
      // Version 3 is indexed: only its chunks are left.
      const v3 = await p.upload('pets.md', 'text/markdown', utf8('# Pets\n\nThe tortoise sleeps all winter in a box of straw.'), doc.documentId);
      expect((await p.settled(doc.documentId, v3.version)).type).toBe('DocumentIndexed');
      found = await retrieve({ db: env.db, vectorIndex: null, embedder: null }, { ownerId: OWNER, text: 'parrot tortoise', limit: 5 });
      expect(found.hits.map((h) => h.version)).toEqual([v3.version]);
      expect(await postings(env.db, oldIds)).toBe(0);
      const { rows } = await env.db.query<{ version: number }>('SELECT DISTINCT version FROM document_chunks WHERE document_id = $1', [doc.documentId]);
      expect(rows).toEqual([{ version: v3.version }]);
      expect((await getDocument(env.db, OWNER, doc.documentId))!.indexed_version).toBe(v3.version);
    }, 120_000);

    it('lists documents newest first, a page at a time', async () => {
      const first = await listDocuments(env.db, OWNER, { first: 2 });
      expect(first.rows).toHaveLength(2);
      expect(first.hasNextPage).toBe(true);
      const second = await listDocuments(env.db, OWNER, { first: 100, after: first.endCursor });
      const all = [...first.rows, ...second.rows].map((r) => Number(r.created_seq));
      expect(all).toEqual([...all].sort((a, b) => b - a));
      expect(new Set(all).size).toBe(all.length);
    });
  });

  describe(`${name}: hybrid (test embedder and vector index)`, () => {
    let env: Awaited<ReturnType<typeof open>>;
    let p: Pipeline;
    const embedder = new TestEmbedder();
    beforeAll(async () => {
      env = await open();
      p = await startPipeline({ readDb: env.db, vectorIndex: env.vectorIndex, embedder });
    }, 60_000);
    afterAll(async () => {
      await p?.stop();
      await env?.close();
    });

    it('embeds, indexes vectors, retrieves in hybrid mode, and a delete leaves zero rows anywhere', async () => {
      const md = await p.upload('notes.md', 'text/markdown', utf8(MARKDOWN));
      const pdf = await p.upload('report.pdf', 'application/pdf', await makePdf(PDF_PAGES));
      const indexed = await p.settled(md.documentId);
      expect(indexed.data).toMatchObject({ embeddingModel: TEST_EMBEDDER_MODEL_ID, dimensions: 256 });
      await p.settled(pdf.documentId);
      const space = spaceFor(embedder.modelId, 256);
      const mdChunks = (await chunkRows(env.db, md.documentId)).chunks;
      expect(await env.vectorIndex.count(space, { documentId: md.documentId })).toBe(mdChunks);
      expect(await p.indexer!.activeSpace()).toEqual(space);
      expect(p.progress.some((e) => e.documentId === md.documentId && e.stage === 'embedding' && e.chunksDone === mdChunks)).toBe(true);

      const kb = await p.knowledgeBases.createKnowledgeBase({ ownerId: OWNER, name: 'Garden' }, commandContext(OWNER));
      await p.knowledgeBases.addDocumentToKnowledgeBase({ knowledgeBaseId: kb.knowledgeBaseId, actorId: OWNER, documentId: md.documentId }, commandContext(OWNER));
      await p.caughtUp();
      const found = await retrieve({ db: env.db, vectorIndex: env.vectorIndex, embedder },
        { ownerId: OWNER, text: 'pinch tomato suckers', knowledgeBaseIds: [kb.knowledgeBaseId], limit: 3 });
      expect(found.mode).toBe('hybrid');
      expect(found.fusion).toBe(env.vectorIndex.supportsHybrid ? 'index' : 'rrf');
      expect(found.hits[0]!.text).toContain('Tomatoes need full sun');
      expect(found.hits.every((hit) => hit.documentId === md.documentId)).toBe(true);

      const chunkIds = await chunkIdsOf(env.db, md.documentId);
      await p.documents.deleteDocument({ documentId: md.documentId, actorId: OWNER }, commandContext(OWNER));
      await p.caughtUp();
      expect(await chunkRows(env.db, md.documentId)).toEqual({ chunks: 0, lexical: 0, postings: 0 });
      expect(await postings(env.db, chunkIds)).toBe(0);
      expect(await env.vectorIndex.count(space, { documentId: md.documentId })).toBe(0);
      expect(await getDocument(env.db, OWNER, md.documentId)).toBeNull();
      const { rows } = await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM knowledge_base_documents WHERE document_id = $1', [md.documentId]);
      expect(rows[0]!.n).toBe(0);
      // The other document is untouched.
      expect(await env.vectorIndex.count(space, { documentId: pdf.documentId })).toBeGreaterThan(0);
    }, 180_000);

    it('erasing the owner removes every chunk, posting and vector of theirs', async () => {
      const doc = await p.upload('secret.md', 'text/markdown', utf8('# Diary\n\nI buried the treasure under the old oak.'));
      await p.settled(doc.documentId);
      await p.store.append(`user-${OWNER}`, [{
        id: crypto.randomUUID(), type: 'UserDataErased', schemaVersion: 1, data: { userId: OWNER },
        metadata: { actorId: OWNER, correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date().toISOString() },
      }]);
      await p.codec.erase(OWNER);
      await p.caughtUp();
      const count = async (sql: string) => (await env.db.query<{ n: number }>(sql, [OWNER])).rows[0]!.n;
      expect(await count('SELECT count(*)::int AS n FROM document_chunks WHERE owner_id = $1')).toBe(0);
      expect(await count('SELECT count(*)::int AS n FROM lexical_chunks WHERE owner_id = $1')).toBe(0);
      expect(await count('SELECT count(*)::int AS n FROM lexical_postings WHERE owner_id = $1')).toBe(0);
      expect(await count('SELECT count(*)::int AS n FROM documents WHERE owner_id = $1')).toBe(0);
      expect(await env.vectorIndex.count(spaceFor(embedder.modelId, 256), { ownerId: OWNER })).toBe(0);
    }, 120_000);
  });
}
