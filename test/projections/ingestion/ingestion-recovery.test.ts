import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { getDocument } from '../../../src/projections/documents-queries.ts';
import { commandContext } from '../../support/domain-event-store.ts';
import { makePdf, utf8 } from '../../infra/extraction/fixtures.ts';
import { chunkDocument } from '../../../src/infra/extraction/chunker.ts';
import { extractDocument } from '../../../src/infra/extraction/extract-in-worker.ts';
import { chunkRecords, writeChunksArtifact } from '../../../src/projections/ingestion/artifacts.ts';
import { chunkRows, OWNER, PIPELINE_LIMITS, startPipeline, type Pipeline } from './pipeline-harness.ts';

describe('ingestion reactor after a crash', () => {
  let db: PgliteReadDb;
  let p: Pipeline;
  beforeEach(async () => {
    db = await PgliteReadDb.open();
    p = await startPipeline({ readDb: db, vectorIndex: null, embedder: null, startReactor: false });
  }, 60_000);
  afterEach(async () => {
    await p?.stop();
    await db?.close();
  });

  it('resumes a version left extracting by a process that died', async () => {
    const doc = await p.upload('left.md', 'text/markdown', utf8('# Left\n\nThe lighthouse keeper counts ships at dawn.'));
    await p.documents.startExtraction({ documentId: doc.documentId, version: 1 }, commandContext(null));
    p.reactor.start();
    expect((await p.settled(doc.documentId)).type).toBe('DocumentIndexed');
    expect((await chunkRows(db, doc.documentId)).chunks).toBeGreaterThan(0);
  }, 120_000);

  it('resumes a version left chunked: the repeated steps record nothing, and it ends indexed', async () => {
    const bytes = utf8('# Harbour\n\nThe ferry leaves at nine and returns at noon.');
    const doc = await p.upload('harbour.md', 'text/markdown', bytes);
    // What a process that died after recordChunked had recorded.
    const context = commandContext(null);
    const extracted = await extractDocument(bytes, 'text/markdown', 'harbour.md', PIPELINE_LIMITS.extraction);
    const chunks = chunkRecords(doc.documentId, 1, await chunkDocument(extracted, PIPELINE_LIMITS));
    const chunksSha256 = await writeChunksArtifact(p.blobs, OWNER, { documentId: doc.documentId, version: 1, chunks });
    await p.documents.startExtraction({ documentId: doc.documentId, version: 1 }, context);
    await p.documents.recordExtracted({ documentId: doc.documentId, version: 1, pages: 1, characters: extracted.characters, ocrPages: 0 }, context);
    await p.documents.recordChunked({ documentId: doc.documentId, version: 1, chunkCount: chunks.length,
      chunkTokens: PIPELINE_LIMITS.chunkTokens, overlapTokens: PIPELINE_LIMITS.overlapTokens, chunksSha256 }, context);
    p.reactor.start();
    expect((await p.settled(doc.documentId)).type).toBe('DocumentIndexed');
    expect((await p.store.readStream(`document-${doc.documentId}`)).map((e) => e.type)).toEqual([
      'DocumentUploaded', 'DocumentExtractionStarted', 'DocumentExtracted', 'DocumentChunked', 'DocumentIndexed']);
  }, 120_000);

  it('fails a version whose recorded step does not match the re-run, with the stage that was running', async () => {
    const doc = await p.upload('odd.md', 'text/markdown', utf8('# Odd\n\nA step recorded by an older build said otherwise.'));
    const context = commandContext(null);
    await p.documents.startExtraction({ documentId: doc.documentId, version: 1 }, context);
    await p.documents.recordExtracted({ documentId: doc.documentId, version: 1, pages: 7, characters: 1, ocrPages: 0 }, context);
    p.reactor.start();
    const failed = await p.settled(doc.documentId);
    expect(failed.type).toBe('DocumentIngestionFailed');
    expect(failed.data).toMatchObject({ stage: 'chunking', reason: 'conflict' });
  }, 120_000);

  it('a stopped reactor leaves its work to the next one, which finishes it', async () => {
    const pdf = await p.upload('long.pdf', 'application/pdf', await makePdf(
      Array.from({ length: 30 }, (_, i) => ({ title: `Chapter ${i + 1}`, lines: [`Page ${i + 1} tells of the river delta and its herons.`] }))));
    p.reactor.start();
    await p.waitForEvent((e) => (e.data as { documentId: string }).documentId === pdf.documentId, ['DocumentExtractionStarted']);
    await p.restartReactor();
    expect((await p.settled(pdf.documentId)).type).toBe('DocumentIndexed');
    expect((await getDocument(db, OWNER, pdf.documentId))!.pages).toBe(30);
  }, 120_000);

  it('drops the work of a document deleted before it was ingested, and of a superseded version', async () => {
    const gone = await p.upload('gone.md', 'text/markdown', utf8('# Gone\n\nNever to be indexed.'));
    await p.documents.deleteDocument({ documentId: gone.documentId, actorId: OWNER }, commandContext(OWNER));
    const doc = await p.upload('twice.md', 'text/markdown', utf8('# One\n\nThe first draft.'));
    const v2 = await p.upload('twice.md', 'text/markdown', utf8('# Two\n\nThe second draft about comets.'), doc.documentId);
    p.reactor.start();
    expect((await p.settled(doc.documentId, v2.version)).type).toBe('DocumentIndexed');
    const events = await p.store.readStream(`document-${doc.documentId}`);
    expect(events.filter((e) => (e.data as { version?: number }).version === 1).map((e) => e.type)).toEqual(['DocumentUploaded']);
    expect((await p.store.readStream(`document-${gone.documentId}`)).map((e) => e.type)).toEqual(['DocumentUploaded', 'DocumentDeleted']);
    expect(await chunkRows(db, gone.documentId)).toEqual({ chunks: 0, lexical: 0, postings: 0 });
  }, 120_000);

  it('drops quietly the work of an owner erased before ingestion', async () => {
    const doc = await p.upload('private.md', 'text/markdown', utf8('# Private\n\nNobody should index this.'));
    await p.codec.erase(OWNER);
    const later = await p.upload('later.md', 'text/markdown', utf8('# Later\n\nUploaded by someone else.')).catch(() => null);
    expect(later).toBeNull(); // the blob store refuses puts for an erased owner
    p.reactor.start();
    // A marker document of another owner, uploaded after: once it is done, the erased one was passed over.
    const bytes = utf8('# Marker\n\nThe marker document of another owner.');
    const blob = await p.blobs.put('owner-2', (async function* () { yield bytes; })(), { maxBytes: 1024 });
    const marker = await p.documents.uploadDocument({ ownerId: 'owner-2', name: 'm.md', mediaType: 'text/markdown', ...blob }, commandContext('owner-2'));
    expect((await p.settled(marker.documentId)).type).toBe('DocumentIndexed');
    expect((await p.store.readStream(`document-${doc.documentId}`)).map((e) => e.type)).toEqual(['DocumentUploaded', 'DocumentExtractionStarted']);
    expect((await chunkRows(db, doc.documentId)).chunks).toBe(0);
  }, 120_000);

  it('a rebuild of the chunks projection reads the artifacts again into fresh tables', async () => {
    const doc = await p.upload('kept.md', 'text/markdown', utf8('# Kept\n\nThe archive keeps every letter of the mayor.'));
    p.reactor.start();
    await p.settled(doc.documentId);
    const before = await chunkRows(db, doc.documentId);
    expect(before.chunks).toBeGreaterThan(0);
    await p.projections.rebuild('document-chunks');
    await p.caughtUp();
    expect(await chunkRows(db, doc.documentId)).toEqual(before);
  }, 120_000);
});
