// Documents end to end inside one app (in-process GraphQL): multipart upload, live ingestion over
// documentEvents, search, knowledge bases, cited replies, deletion down to zero rows, bad input.
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../support/fake-embeddings-server.ts';
import {
  ENDPOINT, eventually, fails, gql, newUser, ok, openSse, startConversation, startTestApp, WAIT_MS,
  type TestApp, type TestUser, type Yoga,
} from './support.ts';

const INGESTION_WAIT_MS = 120_000;
const UPLOAD = `mutation Upload($file: File!, $name: String) {
  uploadDocument(file: $file, name: $name) { documentId version document { id name status } } }`;
const DOCUMENT = `query Doc($id: ID!) { document(id: $id) { id name status version indexedVersion pages chunkCount embeddingModel failure { stage reason } } }`;
const DOCUMENT_EVENTS = `subscription Events($documentId: ID!) {
  documentEvents(documentId: $documentId) { kind stage pagesDone pagesTotal chunksDone chunksTotal document { status chunkCount failure { reason } } } }`;
const SEARCH = `query Search($query: String!, $documentIds: [ID!], $knowledgeBaseIds: [ID!]) {
  search(query: $query, documentIds: $documentIds, knowledgeBaseIds: $knowledgeBaseIds) { mode vectorSpace embeddingModel hits { documentId documentVersion documentName text page } } }`;

interface DocumentView { id: string; status: string; chunkCount: number | null; embeddingModel: string | null; failure: { stage: string; reason: string } | null }

async function upload(yoga: Yoga, token: string | null, bytes: Uint8Array | string, name: string, type: string) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: UPLOAD, variables: { file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([typeof bytes === 'string' ? bytes : Buffer.from(bytes)], name, { type }));
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return await response.json() as { data?: { uploadDocument: { documentId: string; document: { status: string } | null } } | null; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };
}

/** Follows documentEvents until the document's ingestion ends; returns every update seen. */
async function followToEnd(yoga: Yoga, token: string, documentId: string) {
  const stream = await openSse(yoga, DOCUMENT_EVENTS, { documentId }, token);
  const updates: Array<{ kind: string; stage: string | null; document: { status: string; chunkCount: number | null; failure: { reason: string } | null } | null }> = [];
  try {
    for (;;) {
      const frame = await stream.nextFrame(INGESTION_WAIT_MS);
      if (!frame) throw new Error(`documentEvents ended early: ${JSON.stringify(updates)}`);
      if (frame.event !== 'next') continue;
      const update = (JSON.parse(frame.data) as { data: { documentEvents: (typeof updates)[number] } }).data.documentEvents;
      updates.push(update);
      if (update.document && ['indexed', 'failed'].includes(update.document.status)) return updates;
    }
  } finally {
    await stream.close();
  }
}

async function makePdf(pages: string[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const text of pages) pdf.addPage().drawText(text, { x: 50, y: 700, size: 12, font });
  return pdf.save();
}

async function count(test: TestApp, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await test.app.readDb.query<{ n: number }>(sql, params);
  return Number(rows[0]!.n);
}

describe('documents over GraphQL (int)', () => {
  let embeddings: FakeEmbeddingsServer;
  let test: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    embeddings = await startFakeEmbeddingsServer();
    test = await startTestApp({ env: { EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: 'fake-embed-64', MAX_UPLOAD_BYTES: String(256 * 1024) } });
    alice = await newUser(test.yoga);
    bob = await newUser(test.yoga);
  });
  afterAll(async () => {
    await test?.close();
    await embeddings?.close();
  });

  it('uploads a Markdown file and a PDF, follows each to indexed, and finds the right chunk', async () => {
    const markdown = '# Lighthouse\n\nThe keeper of the Skerryvore lighthouse was Angus Macleod, who polished the great lens every dusk.\n';
    const md = await upload(test.yoga, alice.token, markdown, 'lighthouse.md', 'text/markdown');
    expect(md.errors).toBeUndefined();
    const mdId = md.data!.uploadDocument.documentId;
    const mdUpdates = await followToEnd(test.yoga, alice.token, mdId);
    expect(mdUpdates[0]!.kind).toBe('STATUS');
    expect(mdUpdates.at(-1)!.document).toMatchObject({ status: 'indexed', chunkCount: 1 });

    const pdf = await upload(test.yoga, alice.token, await makePdf(['Volcanic soil on Madeira suits Sercial grapes.', 'Page two speaks of basalt terraces.']), 'wine.pdf', 'application/pdf');
    const pdfId = pdf.data!.uploadDocument.documentId;
    const pdfUpdates = await followToEnd(test.yoga, alice.token, pdfId);
    expect(pdfUpdates.at(-1)!.document?.status).toBe('indexed');
    // Stages arrive as they happen, not only the end state.
    expect(new Set(pdfUpdates.map((u) => u.document?.status).filter(Boolean)).size).toBeGreaterThan(1);

    const doc = await ok<{ document: DocumentView & { pages: number } }>(test.yoga, DOCUMENT, { id: pdfId }, alice.token);
    expect(doc.document).toMatchObject({ status: 'indexed', pages: 2, embeddingModel: 'openai:fake-embed-64' });

    const found = await ok<{ search: { mode: string; vectorSpace: string | null; embeddingModel: string | null; hits: Array<{ documentId: string; page: number | null; text: string }> } }>(
      test.yoga, SEARCH, { query: 'basalt terraces' }, alice.token);
    expect(found.search).toMatchObject({ mode: 'hybrid', vectorSpace: 'current', embeddingModel: 'openai:fake-embed-64' });
    // One chunk holds both short pages; it starts on page 1.
    expect(found.search.hits[0]).toMatchObject({ documentId: pdfId, page: 1 });
    expect(found.search.hits[0]!.text).toContain('basalt terraces');
    const keeper = await ok<{ search: { hits: Array<{ documentId: string }> } }>(test.yoga, SEARCH, { query: 'who kept the lighthouse' }, alice.token);
    expect(keeper.search.hits[0]!.documentId).toBe(mdId);

    // Another person sees none of it.
    const other = await ok<{ search: { hits: unknown[] } }>(test.yoga, SEARCH, { query: 'basalt terraces' }, bob.token);
    expect(other.search.hits).toEqual([]);
    expect((await fails(test.yoga, DOCUMENT, { id: pdfId }, bob.token)).code).toBe('NOT_FOUND');
  });

  it("reads a document's passages in order and one passage by id (what a citation opens), the owner's only", async () => {
    const text = Array.from({ length: 40 }, (_, i) => `## Section ${i + 1}\n\n${'Paragraph about tides and harbours. '.repeat(30)}`).join('\n\n');
    const uploaded = await upload(test.yoga, alice.token, text, 'harbours.md', 'text/markdown');
    const documentId = uploaded.data!.uploadDocument.documentId;
    expect((await followToEnd(test.yoga, alice.token, documentId)).at(-1)!.document?.status).toBe('indexed');
    const CHUNKS = `query ($id: ID!, $after: String) { document(id: $id) { chunkCount chunks(first: 3, after: $after) {
      nodes { id documentId documentVersion index page headingPath text } endCursor hasNextPage } } }`;
    type ChunkPage = { document: { chunkCount: number; chunks: { nodes: Array<{ id: string; index: number; documentId: string; text: string; headingPath: string[] }>; endCursor: string | null; hasNextPage: boolean } } };
    const seen: ChunkPage['document']['chunks']['nodes'] = [];
    let after: string | null = null;
    let chunkCount = 0;
    for (;;) {
      const page: ChunkPage = await ok<ChunkPage>(test.yoga, CHUNKS, { id: documentId, after }, alice.token);
      chunkCount = page.document.chunkCount;
      seen.push(...page.document.chunks.nodes);
      if (!page.document.chunks.hasNextPage) break;
      after = page.document.chunks.endCursor;
    }
    expect(chunkCount).toBeGreaterThan(3);
    expect(seen.map((c) => c.index)).toEqual(Array.from({ length: chunkCount }, (_, i) => i));
    expect(seen.every((c) => c.documentId === documentId && c.text.includes('tides'))).toBe(true);

    const ONE = 'query ($id: ID!) { documentChunk(id: $id) { id documentId index text headingPath } }';
    const picked = seen[2]!;
    expect((await ok<{ documentChunk: unknown }>(test.yoga, ONE, { id: picked.id }, alice.token)).documentChunk)
      .toEqual({ id: picked.id, documentId, index: 2, text: picked.text, headingPath: picked.headingPath });
    expect((await fails(test.yoga, ONE, { id: picked.id }, bob.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, ONE, { id: 'no-such-chunk' }, alice.token)).code).toBe('NOT_FOUND');
    expect((await fails(test.yoga, CHUNKS, { id: documentId, after: 'bogus' }, alice.token)).code).toBe('BAD_USER_INPUT');
  });

  it('answers from an attached knowledge base with numbered sources, recorded on the reply', async () => {
    const text = '# Orchard\n\nThe quince tree behind the mill was planted by Ilse Brandt in 1911.\n';
    const uploaded = await upload(test.yoga, alice.token, text, 'orchard.md', 'text/markdown');
    const documentId = uploaded.data!.uploadDocument.documentId;
    await followToEnd(test.yoga, alice.token, documentId);
    const kb = await ok<{ createKnowledgeBase: { id: string } }>(test.yoga, 'mutation { createKnowledgeBase(name: "Village") { id } }', {}, alice.token);
    const knowledgeBaseId = kb.createKnowledgeBase.id;
    const added = await ok<{ addDocumentToKnowledgeBase: { documentCount: number; documents: Array<{ id: string }> } }>(test.yoga,
      'mutation ($k: ID!, $d: ID!) { addDocumentToKnowledgeBase(knowledgeBaseId: $k, documentId: $d) { documentCount documents { id } } }',
      { k: knowledgeBaseId, d: documentId }, alice.token);
    expect(added.addDocumentToKnowledgeBase).toEqual({ documentCount: 1, documents: [{ id: documentId }] });

    const conversation = await startConversation(test.yoga, alice.token);
    await ok(test.yoga, 'mutation ($c: ID!, $k: [ID!]!) { setConversationKnowledge(conversationId: $c, knowledgeBaseIds: $k, documentIds: []) { id } }',
      { c: conversation.id, k: [knowledgeBaseId] }, alice.token);
    await ok(test.yoga, 'mutation ($c: ID!) { sendMessage(conversationId: $c, content: "Who planted the quince tree?") { id } }', { c: conversation.id }, alice.token);
    const reply = await eventually(async () => {
      const view = await ok<{ conversation: { messages: { edges: Array<{ node: { role: string; status: string; sources: Array<{ n: number; documentId: string; documentVersion: number; chunkId: string }> } }> } } }>(
        test.yoga, 'query ($c: ID!) { conversation(id: $c) { messages(first: 10) { edges { node { role status sources { n documentId documentVersion chunkId } } } } } }',
        { c: conversation.id }, alice.token);
      return view.conversation.messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT' && m.status === 'COMPLETE');
    }, 'the cited reply', INGESTION_WAIT_MS);
    expect(reply.sources[0]).toMatchObject({ n: 1, documentId, documentVersion: 1 });
    // The provider was asked with the numbered source in its prompt.
    const prompt = JSON.stringify(test.fake!.requests.at(-1)!.body);
    expect(prompt).toContain('[1]');
    expect(prompt).toContain('Ilse Brandt');
  });

  it('deletes a document: zero rows of it in the chunks, the lexical index and the vector index', async () => {
    const uploaded = await upload(test.yoga, alice.token, '# Temporary\n\nA note about zeppelins over Friedrichshafen.\n', 'temp.md', 'text/markdown');
    const documentId = uploaded.data!.uploadDocument.documentId;
    await followToEnd(test.yoga, alice.token, documentId);
    expect(await count(test, 'SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1', [documentId])).toBeGreaterThan(0);
    const space = await test.app.vectorIndexer.activeSpace();
    expect(await test.app.documentInfra.vectorIndex.count(space!, { documentId })).toBeGreaterThan(0);

    await ok(test.yoga, 'mutation ($id: ID!) { deleteDocument(id: $id) }', { id: documentId }, alice.token);
    expect(await count(test, 'SELECT count(*)::int AS n FROM document_chunks WHERE document_id = $1', [documentId])).toBe(0);
    expect(await count(test, 'SELECT count(*)::int AS n FROM lexical_chunks WHERE document_id = $1', [documentId])).toBe(0);
    expect(await count(test, 'SELECT count(*)::int AS n FROM documents WHERE document_id = $1', [documentId])).toBe(0);
    const head = await test.app.store.headPosition();
    expect(await test.app.vectorIndexer.waitFor(head, WAIT_MS)).toBe(true);
    expect(await test.app.documentInfra.vectorIndex.count(space!, { documentId })).toBe(0);
    const found = await ok<{ search: { hits: Array<{ documentId: string }> } }>(test.yoga, SEARCH, { query: 'zeppelins' }, alice.token);
    expect(found.search.hits.map((h) => h.documentId)).not.toContain(documentId);
  });

  it('a malformed PDF ends failed with a reason, and a good file uploaded beside it is still indexed', async () => {
    const bad = await upload(test.yoga, alice.token, '%PDF-1.7\nthis is not really a pdf', 'broken.pdf', 'application/pdf');
    const good = await upload(test.yoga, alice.token, 'Plain notes about kestrels hovering.', 'kestrels.txt', 'text/plain');
    const [badEnd, goodEnd] = await Promise.all([
      followToEnd(test.yoga, alice.token, bad.data!.uploadDocument.documentId),
      followToEnd(test.yoga, alice.token, good.data!.uploadDocument.documentId),
    ]);
    expect(badEnd.at(-1)!.document).toMatchObject({ status: 'failed', failure: { reason: 'malformed' } });
    expect(goodEnd.at(-1)!.document?.status).toBe('indexed');
  });

  it('a file whose type lies about itself fails as type-mismatch', async () => {
    const lying = await upload(test.yoga, alice.token, 'just text, no PDF here', 'fake.pdf', 'application/pdf');
    const end = await followToEnd(test.yoga, alice.token, lying.data!.uploadDocument.documentId);
    expect(end.at(-1)!.document).toMatchObject({ status: 'failed', failure: { reason: 'type-mismatch' } });
  });

  it('refuses a file over MAX_UPLOAD_BYTES with BAD_USER_INPUT naming the limit, and keeps nothing', async () => {
    const before = await count(test, 'SELECT count(*)::int AS n FROM documents WHERE owner_id = $1', [alice.userId]);
    const result = await upload(test.yoga, alice.token, new Uint8Array(256 * 1024 + 1), 'big.txt', 'text/plain');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'MAX_UPLOAD_BYTES', maxBytes: 256 * 1024 });
    expect(await count(test, 'SELECT count(*)::int AS n FROM documents WHERE owner_id = $1', [alice.userId])).toBe(before);
    // Exactly the limit is accepted.
    const atLimit = await upload(test.yoga, alice.token, new Uint8Array(256 * 1024).fill(0x61), 'limit.txt', 'text/plain');
    expect(atLimit.errors).toBeUndefined();
  });

  it('refuses unauthenticated uploads, hostile names and ids with clear codes', async () => {
    const anonymous = await upload(test.yoga, null, 'x', 'a.txt', 'text/plain');
    expect(anonymous.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const nul = await upload(test.yoga, alice.token, 'x', 'bad\u0000name.txt', 'text/plain');
    expect(nul.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect((await fails(test.yoga, DOCUMENT, { id: 'x'.repeat(201) }, alice.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(test.yoga, SEARCH, { query: 'q'.repeat(2_001) }, alice.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(test.yoga, 'mutation { createKnowledgeBase(name: "  ") { id } }', {}, alice.token)).code).toBe('BAD_USER_INPUT');
    expect((await fails(test.yoga, 'mutation ($k: ID!, $d: ID!) { addDocumentToKnowledgeBase(knowledgeBaseId: $k, documentId: $d) { id } }',
      { k: 'nope', d: 'nope' }, alice.token)).code).toBe('NOT_FOUND');
    const list = await gql(test.yoga, '{ documents(first: 1000) { nodes { id } } }', {}, alice.token);
    expect(list.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the ingestion queue in /metrics', () => {
  let t: TestApp;
  beforeAll(async () => { t = await startTestApp(); });
  afterAll(async () => { await t?.close(); });

  const queued = async () => {
    const text = await t.app.metrics.registry.metrics();
    return Object.fromEntries([...text.matchAll(/^evident_ingestion_queue_documents\{stage="(\w+)"[^}]*\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };

  it('counts the documents waiting in each stage (read from the read model, so every instance shows the same queue)', async () => {
    expect(await queued()).toEqual({ uploaded: 0, extracting: 0, extracted: 0, chunked: 0 });
    // With this instance's ingestion stopped, uploads wait in the queue.
    await t.app.ingestion.stop();
    const user = await newUser(t.yoga);
    for (const name of ['a.md', 'b.md']) {
      const uploaded = await upload(t.yoga, user.token, `# ${name}\n\nqueued text`, name, 'text/markdown');
      expect(uploaded.errors).toBeUndefined();
    }
    expect(await eventually(async () => ((await queued()).uploaded === 2 ? queued() : undefined), 'two documents in the queue'))
      .toEqual({ uploaded: 2, extracting: 0, extracted: 0, chunked: 0 });
  });
});
