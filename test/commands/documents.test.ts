import { afterAll, describe, expect, it } from 'vitest';
import { createDocumentCommands } from '../../src/commands/documents.ts';
import { DomainError } from '../../src/domain/decider.ts';
import { documentStream } from '../../src/domain/document/document.ts';
import { ERASED, PERSONAL_DATA_PREFIX } from '../../src/infra/personal-data/codec.ts';
import { commandContext, domainEventStore } from '../support/domain-event-store.ts';

const sha = (n: number) => n.toString(16).padStart(64, '0');
const file = (n: number) => ({ mediaType: 'application/pdf', sha256: sha(n), size: 1000 + n });

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but the command succeeded');
}

describe('document commands', () => {
  const { store, log, codec, close } = domainEventStore();
  const documents = createDocumentCommands({ store });
  afterAll(close);

  const upload = (ownerId = 'u1', name = 'Tax return 2025.pdf') =>
    documents.uploadDocument({ ownerId, name, ...file(1) }, commandContext(ownerId));

  it('uploads version 1 under a new id and returns its position for read-your-writes', async () => {
    const result = await upload();
    expect(result.documentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.version).toBe(1);
    expect(typeof result.position).toBe('bigint');
    expect(result.events.map((e) => e.type)).toEqual(['DocumentUploaded']);
    const [event] = await store.readStream(documentStream(result.documentId));
    expect(event).toMatchObject({
      type: 'DocumentUploaded', schemaVersion: 1, position: result.position,
      data: { documentId: result.documentId, ownerId: 'u1', version: 1, name: 'Tax return 2025.pdf', ...file(1) },
      metadata: { actorId: 'u1', occurredAt: '2026-01-02T03:04:05.000Z' },
    });
  });

  it('takes a given document id', async () => {
    const result = await documents.uploadDocument({ documentId: 'doc-given', ownerId: 'u1', name: 'a.txt', ...file(2) }, commandContext());
    expect(result.documentId).toBe('doc-given');
    expect(await store.readStream(documentStream('doc-given'))).toHaveLength(1);
  });

  it('keeps the name encrypted in the log, readable until the owner is erased', async () => {
    const { documentId } = await upload('u-erase', 'Divorce papers.pdf');
    const [raw] = await log.readStream(documentStream(documentId));
    expect(String((raw!.data as { name: string }).name).startsWith(PERSONAL_DATA_PREFIX)).toBe(true);
    expect(JSON.stringify(raw!.data)).not.toContain('Divorce');
    await codec.erase('u-erase');
    const [read] = await store.readStream(documentStream(documentId));
    expect((read!.data as { name: string }).name).toBe(ERASED);
  });

  it('refuses bad input before anything is appended', async () => {
    const before = (await log.readAll()).length;
    const error = await rejection(documents.uploadDocument({ ownerId: 'u1', name: 'x', mediaType: 'pdf', sha256: sha(1), size: 1 }, commandContext()));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect((await log.readAll()).length).toBe(before);
  });

  it('runs the whole ingestion of a version, then a new version replaces it only once indexed', async () => {
    const { documentId } = await upload();
    const context = commandContext(null);
    await documents.startExtraction({ documentId, version: 1 }, context);
    await documents.recordExtracted({ documentId, version: 1, pages: 2, characters: 900, ocrPages: 0 }, context);
    await documents.recordChunked({ documentId, version: 1, chunkCount: 3, chunkTokens: 512, overlapTokens: 64, chunksSha256: sha(9) }, context);
    const indexed = await documents.recordIndexed({ documentId, version: 1, embeddingModel: null, dimensions: null, vectorsSha256: null }, context);
    expect(indexed.state).toMatchObject({ status: 'active', indexedVersion: 1, current: { version: 1, status: 'indexed' } });

    const second = await documents.uploadDocumentVersion({ documentId, actorId: 'u1', name: 'Tax return 2025 (corrected).pdf', ...file(3) }, commandContext('u1'));
    expect(second).toMatchObject({ documentId, version: 2, state: { indexedVersion: 1, name: 'Tax return 2025 (corrected).pdf' } });
    expect(typeof second.position).toBe('bigint');

    // A late record of superseded work is refused and leaves the stream as it was.
    const length = (await store.readStream(documentStream(documentId))).length;
    const stale = await rejection(documents.recordIngestionFailed({ documentId, version: 1, stage: 'indexing', reason: 'timeout', message: 'late' }, context));
    expect(stale.code).toBe('CONFLICT');
    expect(await store.readStream(documentStream(documentId))).toHaveLength(length);

    const failed = await documents.recordIngestionFailed({ documentId, version: 2, stage: 'extraction', reason: 'type-mismatch', message: 'Not a PDF' }, context);
    expect(failed.state).toMatchObject({ indexedVersion: 1, current: { version: 2, status: 'failed', failure: { reason: 'type-mismatch' } } });
    // Failure messages may quote the file, so they are encrypted like the name; the reason code is not.
    const raw = (await log.readStream(documentStream(documentId))).at(-1)!.data as { message: string; reason: string };
    expect(raw.message.startsWith(PERSONAL_DATA_PREFIX)).toBe(true);
    expect(raw.reason).toBe('type-mismatch');
  });

  it('treats the same version upload again as a retry: nothing appended, the current version returned', async () => {
    const { documentId } = await upload();
    await documents.uploadDocumentVersion({ documentId, actorId: 'u1', ...file(4) }, commandContext('u1'));
    const retry = await documents.uploadDocumentVersion({ documentId, actorId: 'u1', ...file(4) }, commandContext('u1'));
    expect(retry).toMatchObject({ documentId, version: 2, position: null, events: [] });
  });

  it('numbers concurrent new versions one after another (conflicts are retried on fresh state)', async () => {
    const { documentId } = await upload();
    const results = await Promise.all([5, 6, 7].map((n) => documents.uploadDocumentVersion({ documentId, actorId: 'u1', ...file(n) }, commandContext('u1'))));
    expect(results.map((r) => r.version).sort()).toEqual([2, 3, 4]);
    const versions = (await store.readStream(documentStream(documentId))).map((e) => (e.data as { version: number }).version);
    expect(versions).toEqual([1, 2, 3, 4]);
  });

  it('renames and deletes for the owner only; a stranger gets NOT_FOUND', async () => {
    const { documentId } = await upload();
    expect((await rejection(documents.renameDocument({ documentId, actorId: 'u2', name: 'Mine now' }, commandContext('u2')))).code).toBe('NOT_FOUND');
    expect((await rejection(documents.deleteDocument({ documentId, actorId: 'u2' }, commandContext('u2')))).code).toBe('NOT_FOUND');
    expect((await rejection(documents.uploadDocumentVersion({ documentId, actorId: 'u2', ...file(8) }, commandContext('u2')))).code).toBe('NOT_FOUND');
    const renamed = await documents.renameDocument({ documentId, actorId: 'u1', name: 'Taxes' }, commandContext('u1'));
    expect(renamed.events).toEqual([{ type: 'DocumentRenamed', data: { documentId, ownerId: 'u1', name: 'Taxes' } }]);
    const deleted = await documents.deleteDocument({ documentId, actorId: 'u1' }, commandContext('u1'));
    expect(deleted.state).toEqual({ status: 'deleted', documentId, ownerId: 'u1' });
    expect((await rejection(documents.startExtraction({ documentId, version: 1 }, commandContext(null)))).code).toBe('NOT_FOUND');
  });

  it('is NOT_FOUND for a document that was never uploaded', async () => {
    expect((await rejection(documents.renameDocument({ documentId: 'nope', actorId: 'u1', name: 'x' }, commandContext('u1')))).code).toBe('NOT_FOUND');
    expect((await rejection(documents.startExtraction({ documentId: 'nope', version: 1 }, commandContext(null)))).code).toBe('NOT_FOUND');
  });
});
