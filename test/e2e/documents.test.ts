// Documents end to end with the real server process: a PDF uploaded through GraphQL's multipart
// request, a DOCX and a Markdown file streamed to POST /uploads, each followed over documentEvents
// (SSE) until indexed; a question answered from the DOCX with a citation of its chunk; then the DOCX
// deleted and its rows and vectors counted in the stopped server's read database: zero. On the
// embedded default and on PostgreSQL (exact vector search: this PostgreSQL has no pgvector).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Document as DocxDocument, HeadingLevel, Packer, Paragraph } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import type { ReadDb } from '../../src/infra/read-db/port.ts';
import { PostgresReadDb } from '../../src/infra/read-db/postgres-read-db.ts';
import { createVectorIndex } from '../../src/infra/vector-index/create-vector-index.ts';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../support/fake-embeddings-server.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import { SseStream } from '../graphql/support.ts';
import {
  conversationMessages, eventually, gql, removeTempDirs, signUp, startConversation, startFakeProvider, startServer,
  stopAllProcesses, tempDir, type ProviderProcess, type ServerProcess,
} from './support.ts';

const INGESTION_WAIT_MS = 180_000;
const DOCUMENT_EVENTS = `subscription ($documentId: ID!) { documentEvents(documentId: $documentId) { kind document { status failure { reason } } } }`;

async function uploadMultipart(url: string, token: string, bytes: Uint8Array, name: string, type: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: 'mutation ($file: File!) { uploadDocument(file: $file) { documentId } }', variables: { file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([Buffer.from(bytes)], name, { type }));
  const response = await fetch(url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' } });
  const body = await response.json() as { data?: { uploadDocument: { documentId: string } }; errors?: unknown };
  if (!body.data) throw new Error(`upload failed: ${JSON.stringify(body)}`);
  return body.data.uploadDocument.documentId;
}

async function uploadStreamed(url: string, token: string, bytes: Uint8Array | string, name: string, type: string): Promise<string> {
  const response = await fetch(new URL('/uploads', url), {
    method: 'POST', body: typeof bytes === 'string' ? bytes : Buffer.from(bytes),
    headers: { authorization: `Bearer ${token}`, 'content-type': type, 'x-file-name': encodeURIComponent(name) },
  });
  const body = await response.json() as { documentId?: string };
  if (response.status !== 201 || !body.documentId) throw new Error(`upload failed (${response.status}): ${JSON.stringify(body)}`);
  return body.documentId;
}

async function openDocumentEvents(url: string, token: string, documentId: string): Promise<SseStream> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: DOCUMENT_EVENTS, variables: { documentId } }),
  });
  return new SseStream(response);
}

/** Reads documentEvents until `done` accepts an update; returns that update. */
async function readUntil(stream: SseStream, done: (update: { kind: string; document: { status: string } | null }) => boolean) {
  for (;;) {
    const frame = await stream.nextFrame(INGESTION_WAIT_MS);
    if (!frame) throw new Error(`documentEvents ended: ${JSON.stringify(stream.frames)}`);
    if (frame.event !== 'next') continue;
    const payload = JSON.parse(frame.data) as { data?: { documentEvents: { kind: string; document: { status: string } | null } }; errors?: unknown };
    if (!payload.data) throw new Error(`documentEvents failed: ${frame.data}`);
    const update = payload.data.documentEvents;
    if (done(update)) return update;
  }
}

/** documentEvents over SSE until the document is indexed (or failed): its last status. */
async function followToEnd(url: string, token: string, documentId: string): Promise<string> {
  const stream = await openDocumentEvents(url, token, documentId);
  try {
    const end = await readUntil(stream, (u) => u.document?.status === 'indexed' || u.document?.status === 'failed');
    return end.document!.status;
  } finally {
    await stream.close();
  }
}

async function pdfFixture(): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  pdf.addPage().drawText('Tidal mills on the Rance estuary ground wheat for centuries.', { x: 50, y: 700, size: 12, font });
  return pdf.save();
}

async function docxFixture(): Promise<Uint8Array> {
  const doc = new DocxDocument({
    sections: [{
      children: [
        new Paragraph({ text: 'Beekeeping', heading: HeadingLevel.HEADING_1 }),
        new Paragraph('The apiary on Lindholm island keeps Carniolan bees, chosen for their gentle temper.'),
      ],
    }],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/** What is left of a document in the read models and the vector index, counted in the stopped server's database. */
async function remnants(db: ReadDb, documentId: string): Promise<number> {
  let total = 0;
  for (const table of ['documents', 'document_chunks', 'lexical_chunks', 'knowledge_base_documents', 'document_vector_spaces']) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE document_id = $1`, [documentId]);
    total += rows[0]!.n;
  }
  const { index } = await createVectorIndex(db);
  const spaces = await index.spaces();
  expect(spaces.length).toBeGreaterThan(0);
  for (const space of spaces) total += await index.count(space, { documentId });
  return total;
}

interface Backend {
  name: string;
  skip: string | undefined;
  prepare(): Promise<{ databaseUrl?: string; masterKey?: string }>;
  openReadDb(dataDir: string): Promise<ReadDb>;
  cleanUp(): Promise<void>;
}

let database: TestDatabase | undefined;
const backends: Backend[] = [
  {
    name: 'the embedded default (SQLite + PGlite with pgvector)',
    skip: undefined,
    prepare: async () => ({}),
    openReadDb: (dataDir) => PgliteReadDb.open({ dataDir: join(dataDir, 'read-models') }),
    cleanUp: async () => {},
  },
  {
    name: 'PostgreSQL (exact vector search without pgvector)',
    skip: postgresSkipReason('e2e documents on PostgreSQL'),
    prepare: async () => {
      database = await createTestDatabase();
      return { databaseUrl: database.url, masterKey: randomBytes(32).toString('base64') };
    },
    openReadDb: () => PostgresReadDb.open({ connectionString: database!.url }),
    cleanUp: async () => {
      await database?.drop();
    },
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip !== undefined)(`e2e: documents and cited answers on ${backend.name}`, () => {
    let provider: ProviderProcess;
    let embeddings: FakeEmbeddingsServer;
    let server: ServerProcess;
    let dataDir: string;

    beforeAll(async () => {
      provider = await startFakeProvider();
      embeddings = await startFakeEmbeddingsServer();
      dataDir = tempDir();
      server = await startServer({
        dataDir, providerUrl: provider.url, defaultModel: 'fake-echo', ...(await backend.prepare()),
        env: { EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: 'fake-embed-64' },
      });
    });

    afterAll(async () => {
      try {
        await server?.stop();
        await provider?.stop();
        await embeddings?.close();
      } finally {
        await stopAllProcesses();
        await backend.cleanUp();
        removeTempDirs();
      }
    });

    it('uploads a PDF, a DOCX and a Markdown file, answers from the DOCX citing its chunk, and deleting it leaves zero rows and vectors', async () => {
      const { token } = await signUp(server.url);
      const pdf = await uploadMultipart(server.url, token, await pdfFixture(), 'mills.pdf', 'application/pdf');
      const docx = await uploadStreamed(server.url, token, await docxFixture(), 'bees.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      const markdown = await uploadStreamed(server.url, token, '# Lanterns\n\nPaper lanterns in Hoi An are framed with bamboo.\n', 'lanterns.md', 'text/markdown');
      expect(await Promise.all([pdf, docx, markdown].map((id) => followToEnd(server.url, token, id)))).toEqual(['indexed', 'indexed', 'indexed']);

      const kb = await gql<{ createKnowledgeBase: { id: string } }>(server.url, 'mutation { createKnowledgeBase(name: "Notes") { id } }', {}, token);
      for (const documentId of [pdf, docx, markdown]) {
        await gql(server.url, 'mutation ($k: ID!, $d: ID!) { addDocumentToKnowledgeBase(knowledgeBaseId: $k, documentId: $d) { id } }',
          { k: kb.createKnowledgeBase.id, d: documentId }, token);
      }
      const conversationId = await startConversation(server.url, token, 'fake-echo');
      await gql(server.url, 'mutation ($c: ID!, $k: [ID!]!) { setConversationKnowledge(conversationId: $c, knowledgeBaseIds: $k, documentIds: []) { id } }',
        { c: conversationId, k: [kb.createKnowledgeBase.id] }, token);
      await gql(server.url, 'mutation ($c: ID!) { sendMessage(conversationId: $c, content: "Which bees does the Lindholm apiary keep?") { id } }', { c: conversationId }, token);
      await eventually(async () => (await conversationMessages(server.url, token, conversationId)).find((m) => m.role === 'ASSISTANT' && m.status === 'COMPLETE'),
        'the reply', INGESTION_WAIT_MS);
      const cited = await gql<{ conversation: { messages: { edges: Array<{ node: { role: string; sources: Array<{ n: number; documentId: string; chunkId: string }> } }> } } }>(
        server.url, 'query ($c: ID!) { conversation(id: $c) { messages(first: 10) { edges { node { role sources { n documentId chunkId } } } } } }', { c: conversationId }, token);
      const reply = cited.conversation.messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT')!;
      expect(reply.sources[0]).toMatchObject({ n: 1, documentId: docx });

      // DELETED arrives once the read models and the vector index have applied the deletion.
      const events = await openDocumentEvents(server.url, token, docx);
      try {
        await readUntil(events, (u) => u.kind === 'STATUS');
        await gql(server.url, 'mutation ($id: ID!) { deleteDocument(id: $id) }', { id: docx }, token);
        await readUntil(events, (u) => u.kind === 'DELETED');
      } finally {
        await events.close();
      }
      const search = await gql<{ search: { hits: Array<{ documentId: string }> } }>(server.url, 'query { search(query: "Carniolan bees Lindholm") { hits { documentId } } }', {}, token);
      expect(search.search.hits.map((h) => h.documentId)).not.toContain(docx);

      // Stopped, so that every reactor has finished and the embedded database can be opened here.
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      const db = await backend.openReadDb(dataDir);
      try {
        expect(await remnants(db, docx)).toBe(0);
        expect(await remnants(db, pdf)).toBeGreaterThan(0); // the count does see what is there
      } finally {
        await db.close();
      }
    });
  });
}
