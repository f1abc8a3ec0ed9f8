import { describe, expect, it } from 'vitest';
import {
  documentDecider, documentPersonalData, documentStream, normalizeMediaType, type DocumentCommand, type DocumentEvent,
} from '../../../src/domain/document/document.ts';
import { personalDataRules } from '../../../src/domain/personal-data.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(documentDecider);
const ids = { documentId: 'd1', ownerId: 'u1' };
const shaA = 'a'.repeat(64);
const shaB = 'b'.repeat(64);
const shaC = 'c'.repeat(64);
const fold = (events: DocumentEvent[]) => events.reduce(documentDecider.evolve, documentDecider.initialState());

const uploaded: DocumentEvent = {
  type: 'DocumentUploaded', data: { ...ids, version: 1, name: 'Report.pdf', mediaType: 'application/pdf', sha256: shaA, size: 1234 },
};
const versionUploaded = (version: number, sha256 = shaB, name = 'Report.pdf'): DocumentEvent =>
  ({ type: 'DocumentVersionUploaded', data: { ...ids, version, name, mediaType: 'application/pdf', sha256, size: 2000 } });
const extractionStarted = (version = 1): DocumentEvent => ({ type: 'DocumentExtractionStarted', data: { ...ids, version } });
const extracted = (version = 1): DocumentEvent => ({ type: 'DocumentExtracted', data: { ...ids, version, pages: 3, characters: 4000, ocrPages: 1 } });
const chunked = (version = 1): DocumentEvent => ({
  type: 'DocumentChunked', data: { ...ids, version, chunkCount: 9, chunkTokens: 512, overlapTokens: 64, chunksSha256: shaC },
});
const indexed = (version = 1): DocumentEvent => ({
  type: 'DocumentIndexed', data: { ...ids, version, embeddingModel: 'nomic-embed-text', dimensions: 768, vectorsSha256: shaB },
});
const failed = (version = 1, stage: 'extraction' | 'chunking' | 'embedding' | 'indexing' = 'extraction'): DocumentEvent => ({
  type: 'DocumentIngestionFailed', data: { ...ids, version, stage, reason: 'timeout', message: 'Extraction took longer than 60 s' },
});
const renamed = (name: string): DocumentEvent => ({ type: 'DocumentRenamed', data: { ...ids, name } });
const deleted: DocumentEvent = { type: 'DocumentDeleted', data: ids };

const upload = (overrides: Partial<Extract<DocumentCommand, { type: 'UploadDocument' }>> = {}): DocumentCommand =>
  ({ type: 'UploadDocument', ...ids, name: 'Report.pdf', mediaType: 'application/pdf', sha256: shaA, size: 1234, ...overrides });
const uploadVersion = (overrides: Partial<Extract<DocumentCommand, { type: 'UploadDocumentVersion' }>> = {}): DocumentCommand =>
  ({ type: 'UploadDocumentVersion', documentId: 'd1', actorId: 'u1', mediaType: 'application/pdf', sha256: shaB, size: 2000, ...overrides });
const rename = (name: string, actorId = 'u1'): DocumentCommand => ({ type: 'RenameDocument', documentId: 'd1', actorId, name });
const remove = (actorId = 'u1'): DocumentCommand => ({ type: 'DeleteDocument', documentId: 'd1', actorId });
const startExtraction = (version = 1): DocumentCommand => ({ type: 'StartExtraction', documentId: 'd1', version });
const recordExtracted = (version = 1, overrides: Record<string, unknown> = {}): DocumentCommand =>
  ({ type: 'RecordExtracted', documentId: 'd1', version, pages: 3, characters: 4000, ocrPages: 1, ...overrides }) as DocumentCommand;
const recordChunked = (version = 1, overrides: Record<string, unknown> = {}): DocumentCommand =>
  ({ type: 'RecordChunked', documentId: 'd1', version, chunkCount: 9, chunkTokens: 512, overlapTokens: 64, chunksSha256: shaC, ...overrides }) as DocumentCommand;
const recordIndexed = (version = 1, overrides: Record<string, unknown> = {}): DocumentCommand =>
  ({ type: 'RecordIndexed', documentId: 'd1', version, embeddingModel: 'nomic-embed-text', dimensions: 768, vectorsSha256: shaB, ...overrides }) as DocumentCommand;
const recordFailed = (version = 1, overrides: Record<string, unknown> = {}): DocumentCommand =>
  ({ type: 'RecordIngestionFailed', documentId: 'd1', version, stage: 'extraction', reason: 'timeout', message: 'Extraction took longer than 60 s', ...overrides }) as DocumentCommand;

/** Version 1 through every ingestion stage. */
const ready = [uploaded, extractionStarted(), extracted(), chunked(), indexed()];

describe('Document decider', () => {
  it('names the stream', () => expect(documentStream('d1')).toBe('document-d1'));

  describe('UploadDocument', () => {
    it('records version 1 with a trimmed name, a lower-cased media type and hash', () =>
      spec.given([]).when(upload({ name: '  Report.pdf ', mediaType: 'Application/PDF', sha256: shaA.toUpperCase() })).then([uploaded]));

    it('keeps media type parameters as sent', () =>
      spec.given([]).when(upload({ mediaType: 'Text/Plain; charset=UTF-8' }))
        .then([{ ...uploaded, data: { ...uploaded.data, mediaType: 'text/plain; charset=UTF-8' } } as DocumentEvent]));

    it('accepts an empty file (ingestion fails it, not the upload)', () =>
      expect(documentDecider.decide(upload({ size: 0 }), fold([]))[0]!.data).toMatchObject({ size: 0 }));

    it('refuses an existing document, and the id of a deleted one', () => {
      spec.given([uploaded]).when(upload()).thenFails('CONFLICT', /already exists/);
      spec.given([uploaded, deleted]).when(upload()).thenFails('CONFLICT');
    });

    it('refuses a blank name, a name with a line break, NUL or a lone surrogate', () => {
      for (const name of ['', '   ', 'a\nb', 'a\u0000b', 'a\uD800b', undefined as unknown as string]) {
        spec.given([]).when(upload({ name })).thenFails('BAD_USER_INPUT', /Name/);
      }
    });

    it('refuses malformed media types', () => {
      for (const mediaType of ['', 'pdf', 'application/', '/pdf', 'application/pdf/x', 'appli cation/pdf', 'text/plain; charset', 'text/plain;\ncharset=utf-8', 42 as unknown as string]) {
        spec.given([]).when(upload({ mediaType })).thenFails('BAD_USER_INPUT', /Media type/);
      }
    });

    it('refuses a hash that is not 64 hex digits', () => {
      for (const sha256 of ['', 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), null as unknown as string]) {
        spec.given([]).when(upload({ sha256 })).thenFails('BAD_USER_INPUT', /64 hexadecimal/);
      }
    });

    it('refuses a size that is not a non-negative integer', () => {
      for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '12' as unknown as number]) {
        spec.given([]).when(upload({ size })).thenFails('BAD_USER_INPUT', /Size/);
      }
    });

    it('refuses missing ids', () => {
      spec.given([]).when(upload({ documentId: '' })).thenFails('BAD_USER_INPUT', /Document id/);
      spec.given([]).when(upload({ ownerId: '' })).thenFails('BAD_USER_INPUT', /Owner id/);
    });
  });

  describe('UploadDocumentVersion', () => {
    it('records the next version, keeping the name when none is given', () =>
      spec.given(ready).when(uploadVersion()).then([versionUploaded(2)]));

    it('takes a new name with the version', () =>
      spec.given(ready).when(uploadVersion({ name: ' Report v2.pdf ' })).then([versionUploaded(2, shaB, 'Report v2.pdf')]));

    it('counts on from the newest version, whatever state its ingestion is in', () =>
      spec.given([uploaded, versionUploaded(2), extractionStarted(2)]).when(uploadVersion({ sha256: shaC }))
        .then([versionUploaded(3, shaC)]));

    it('makes the new version current while the indexed one keeps serving until it is indexed', () => {
      const state = fold([...ready, versionUploaded(2)]);
      expect(state).toMatchObject({ status: 'active', indexedVersion: 1, current: { version: 2, status: 'uploaded', sha256: shaB } });
      const reindexed = fold([...ready, versionUploaded(2), extractionStarted(2), extracted(2), chunked(2), indexed(2)]);
      expect(reindexed).toMatchObject({ indexedVersion: 2, current: { version: 2, status: 'indexed' } });
      const failedReindex = fold([...ready, versionUploaded(2), failed(2)]);
      expect(failedReindex).toMatchObject({ indexedVersion: 1, current: { version: 2, status: 'failed' } });
    });

    it('is a no-op for the same file, name and type again (a retried request)', () => {
      spec.given(ready).when(uploadVersion({ sha256: shaA, size: 1234 })).then([]);
      spec.given([...ready, versionUploaded(2)]).when(uploadVersion()).then([]);
    });

    it('records the same file again when the current version failed (a retry of its ingestion)', () =>
      spec.given([uploaded, failed()]).when(uploadVersion({ sha256: shaA, size: 1234 }))
        .then([{ ...versionUploaded(2, shaA), data: { ...versionUploaded(2, shaA).data, size: 1234 } } as DocumentEvent]));

    it('records the same file under a new name as a new version', () =>
      spec.given(ready).when(uploadVersion({ sha256: shaA, size: 1234, name: 'Other.pdf' }))
        .then([{ ...versionUploaded(2, shaA, 'Other.pdf'), data: { ...versionUploaded(2, shaA, 'Other.pdf').data, size: 1234 } } as DocumentEvent]));

    it('is NOT_FOUND for a stranger, a missing and a deleted document', () => {
      spec.given(ready).when(uploadVersion({ actorId: 'u2' })).thenFails('NOT_FOUND', /Document not found/);
      spec.given([]).when(uploadVersion()).thenFails('NOT_FOUND');
      spec.given([...ready, deleted]).when(uploadVersion()).thenFails('NOT_FOUND');
    });

    it('validates the file facts like an upload', () => {
      spec.given(ready).when(uploadVersion({ sha256: 'x' })).thenFails('BAD_USER_INPUT', /sha256/);
      spec.given(ready).when(uploadVersion({ mediaType: 'nonsense' })).thenFails('BAD_USER_INPUT', /Media type/);
      spec.given(ready).when(uploadVersion({ size: -1 })).thenFails('BAD_USER_INPUT', /Size/);
      spec.given(ready).when(uploadVersion({ name: '  ' })).thenFails('BAD_USER_INPUT', /Name/);
    });
  });

  describe('RenameDocument', () => {
    it('renames with a trimmed name', () => spec.given(ready).when(rename(' Annual report ')).then([renamed('Annual report')]));
    it('is a no-op for the same name', () => spec.given([uploaded, renamed('X')]).when(rename('X')).then([]));
    it('keeps the name for later versions', () =>
      spec.given([uploaded, renamed('X')]).when(uploadVersion()).then([versionUploaded(2, shaB, 'X')]));
    it('refuses a blank name', () => spec.given(ready).when(rename(' ')).thenFails('BAD_USER_INPUT', /Name must be 1 to 255/));
    it('is NOT_FOUND for a stranger and for a deleted document', () => {
      spec.given(ready).when(rename('X', 'u2')).thenFails('NOT_FOUND');
      spec.given([...ready, deleted]).when(rename('X')).thenFails('NOT_FOUND');
    });
  });

  describe('DeleteDocument', () => {
    it('deletes, at any stage of ingestion', () => {
      spec.given(ready).when(remove()).then([deleted]);
      spec.given([uploaded, extractionStarted()]).when(remove()).then([deleted]);
    });
    it('is NOT_FOUND for a stranger', () => spec.given(ready).when(remove('u2')).thenFails('NOT_FOUND'));
    // As with conversations: a deleted document is gone, so deleting it again finds nothing.
    it('is NOT_FOUND when already deleted', () => spec.given([...ready, deleted]).when(remove()).thenFails('NOT_FOUND'));
    it('leaves a state that refuses everything', () => {
      expect(fold([...ready, deleted])).toEqual({ status: 'deleted', ...ids });
      for (const command of [startExtraction(), recordExtracted(), recordChunked(), recordIndexed(), recordFailed()]) {
        spec.given([...ready, deleted]).when(command).thenFails('NOT_FOUND');
      }
    });
  });

  describe('ingestion in order', () => {
    it('records each stage of the current version', () => {
      spec.given([uploaded]).when(startExtraction()).then([extractionStarted()]);
      spec.given([uploaded, extractionStarted()]).when(recordExtracted()).then([extracted()]);
      spec.given([uploaded, extractionStarted(), extracted()]).when(recordChunked()).then([chunked()]);
      spec.given([uploaded, extractionStarted(), extracted(), chunked()]).when(recordIndexed()).then([indexed()]);
    });

    it('records a lexical-only index (no embedder) with null model, dimensions and vectors', () =>
      spec.given([uploaded, extractionStarted(), extracted(), chunked()])
        .when(recordIndexed(1, { embeddingModel: null, dimensions: null, vectorsSha256: null }))
        .then([{ type: 'DocumentIndexed', data: { ...ids, version: 1, embeddingModel: null, dimensions: null, vectorsSha256: null } }]));

    it('records an index whose vectors are not kept as an artifact', () =>
      expect(documentDecider.decide(recordIndexed(1, { vectorsSha256: null }), fold([uploaded, extractionStarted(), extracted(), chunked()]))[0]!.data)
        .toMatchObject({ embeddingModel: 'nomic-embed-text', dimensions: 768, vectorsSha256: null }));

    it('tracks the stage and the facts in the state', () =>
      expect(fold(ready)).toEqual({
        status: 'active', ...ids, name: 'Report.pdf', indexedVersion: 1, indexedChunksSha256: shaC,
        indexedEmbeddings: [{ embeddingModel: 'nomic-embed-text', dimensions: 768, vectorsSha256: shaB }],
        current: {
          version: 1, mediaType: 'application/pdf', sha256: shaA, size: 1234, status: 'indexed', extractionStarted: true,
          extracted: { pages: 3, characters: 4000, ocrPages: 1 },
          chunked: { chunkCount: 9, chunkTokens: 512, overlapTokens: 64, chunksSha256: shaC },
          indexed: { embeddingModel: 'nomic-embed-text', dimensions: 768, vectorsSha256: shaB },
          failure: null,
        },
      }));

    it('refuses skipped stages with CONFLICT', () => {
      spec.given([uploaded]).when(recordExtracted()).thenFails('CONFLICT', /while the version is uploaded/);
      spec.given([uploaded, extractionStarted()]).when(recordChunked()).thenFails('CONFLICT', /while the version is extracting/);
      spec.given([uploaded, extractionStarted(), extracted()]).when(recordIndexed()).thenFails('CONFLICT', /while the version is extracted/);
      spec.given([uploaded]).when(recordIndexed()).thenFails('CONFLICT');
    });

    it('is a no-op for an identical repeat of a recorded stage (a reactor retrying after a crash)', () => {
      spec.given([uploaded, extractionStarted()]).when(startExtraction()).then([]);
      spec.given(ready).when(startExtraction()).then([]);
      spec.given(ready).when(recordExtracted()).then([]);
      spec.given(ready).when(recordChunked()).then([]);
      spec.given(ready).when(recordIndexed()).then([]);
    });

    it('refuses a repeat with other values', () => {
      spec.given(ready).when(recordExtracted(1, { pages: 4 })).thenFails('CONFLICT', /already recorded/);
      spec.given(ready).when(recordChunked(1, { chunkCount: 10 })).thenFails('CONFLICT', /already recorded/);
      spec.given(ready).when(recordIndexed(1, { embeddingModel: 'other' })).thenFails('CONFLICT', /already recorded/);
    });

    it('refuses every record for a superseded version with CONFLICT, even one that would be next in order', () => {
      const history = [uploaded, extractionStarted(), extracted(), chunked(), versionUploaded(2)];
      spec.given(history).when(recordIndexed(1)).thenFails('CONFLICT', /Version 1 is superseded by version 2/);
      spec.given(history).when(recordFailed(1, { stage: 'indexing' })).thenFails('CONFLICT', /superseded/);
      spec.given([uploaded, versionUploaded(2)]).when(startExtraction(1)).thenFails('CONFLICT', /superseded/);
      spec.given(history).when(recordExtracted(1)).thenFails('CONFLICT', /superseded/);
    });

    it('accepts the records of the new version', () =>
      spec.given([...ready, versionUploaded(2)]).when(startExtraction(2)).then([extractionStarted(2)]));

    it('is NOT_FOUND for a version not uploaded yet, and refuses a version that is not a positive integer', () => {
      spec.given([uploaded]).when(startExtraction(2)).thenFails('NOT_FOUND', /version 2 not found/);
      for (const version of [0, -1, 1.5, Number.NaN]) spec.given([uploaded]).when(startExtraction(version)).thenFails('BAD_USER_INPUT', /Version/);
      spec.given([]).when(startExtraction()).thenFails('NOT_FOUND', /Document not found/);
    });
  });

  describe('ingestion facts', () => {
    const extracting = [uploaded, extractionStarted()];
    const afterExtraction = [...extracting, extracted()];
    const afterChunking = [...afterExtraction, chunked()];

    it('refuses extraction counts that are not non-negative integers, and more OCR pages than pages', () => {
      for (const overrides of [{ pages: -1 }, { characters: 1.5 }, { ocrPages: Number.NaN }, { pages: '3' }]) {
        spec.given(extracting).when(recordExtracted(1, overrides)).thenFails('BAD_USER_INPUT', /integer of at least 0/);
      }
      spec.given(extracting).when(recordExtracted(1, { pages: 2, ocrPages: 3 })).thenFails('BAD_USER_INPUT', /ocrPages must not exceed pages/);
      expect(documentDecider.decide(recordExtracted(1, { pages: 0, characters: 0, ocrPages: 0 }), fold(extracting))).toHaveLength(1);
      expect(documentDecider.decide(recordExtracted(1, { pages: 3, ocrPages: 3 }), fold(extracting))).toHaveLength(1);
    });

    it('refuses chunk sizes out of range and a bad chunks hash', () => {
      spec.given(afterExtraction).when(recordChunked(1, { chunkTokens: 0 })).thenFails('BAD_USER_INPUT', /chunkTokens must be an integer of at least 1/);
      spec.given(afterExtraction).when(recordChunked(1, { chunkTokens: 64, overlapTokens: 64 })).thenFails('BAD_USER_INPUT', /smaller than chunkTokens/);
      spec.given(afterExtraction).when(recordChunked(1, { overlapTokens: -1 })).thenFails('BAD_USER_INPUT', /overlapTokens/);
      spec.given(afterExtraction).when(recordChunked(1, { chunkCount: -1 })).thenFails('BAD_USER_INPUT', /chunkCount/);
      spec.given(afterExtraction).when(recordChunked(1, { chunksSha256: 'nope' })).thenFails('BAD_USER_INPUT', /chunksSha256 must be 64/);
      expect(documentDecider.decide(recordChunked(1, { chunkTokens: 65, overlapTokens: 64, chunkCount: 0 }), fold(afterExtraction))).toHaveLength(1);
    });

    it('refuses inconsistent index facts', () => {
      spec.given(afterChunking).when(recordIndexed(1, { embeddingModel: null })).thenFails('BAD_USER_INPUT', /lexical-only/);
      spec.given(afterChunking).when(recordIndexed(1, { embeddingModel: null, dimensions: null })).thenFails('BAD_USER_INPUT', /lexical-only/);
      spec.given(afterChunking).when(recordIndexed(1, { dimensions: null })).thenFails('BAD_USER_INPUT', /dimensions/);
      spec.given(afterChunking).when(recordIndexed(1, { dimensions: 0 })).thenFails('BAD_USER_INPUT', /dimensions/);
      spec.given(afterChunking).when(recordIndexed(1, { embeddingModel: ' ' })).thenFails('BAD_USER_INPUT', /embeddingModel/);
      spec.given(afterChunking).when(recordIndexed(1, { embeddingModel: 'a\nb' })).thenFails('BAD_USER_INPUT', /embeddingModel/);
      spec.given(afterChunking).when(recordIndexed(1, { vectorsSha256: 'x' })).thenFails('BAD_USER_INPUT', /vectorsSha256/);
    });
  });

  describe('RecordIngestionFailed', () => {
    it('records a failure at each stage from the status where that stage runs', () => {
      spec.given([uploaded]).when(recordFailed()).then([failed()]);
      spec.given([uploaded, extractionStarted()]).when(recordFailed()).then([failed()]);
      spec.given([uploaded, extractionStarted(), extracted()]).when(recordFailed(1, { stage: 'chunking' })).then([failed(1, 'chunking')]);
      const afterChunking = [uploaded, extractionStarted(), extracted(), chunked()];
      spec.given(afterChunking).when(recordFailed(1, { stage: 'embedding' })).then([failed(1, 'embedding')]);
      spec.given(afterChunking).when(recordFailed(1, { stage: 'indexing' })).then([failed(1, 'indexing')]);
    });

    it('refuses a failure of a stage that is not running', () => {
      spec.given([uploaded, extractionStarted(), extracted()]).when(recordFailed()).thenFails('CONFLICT', /failure of extraction while the version is extracted/);
      spec.given([uploaded, extractionStarted()]).when(recordFailed(1, { stage: 'chunking' })).thenFails('CONFLICT');
      spec.given([uploaded, extractionStarted(), extracted()]).when(recordFailed(1, { stage: 'embedding' })).thenFails('CONFLICT');
      spec.given(ready).when(recordFailed(1, { stage: 'indexing' })).thenFails('CONFLICT', /while the version is indexed/);
    });

    it('makes the version final: an identical failure again is a no-op, anything new is refused', () => {
      spec.given([uploaded, failed()]).when(recordFailed()).then([]);
      spec.given([uploaded, failed()]).when(recordFailed(1, { reason: 'corrupt' })).thenFails('CONFLICT', /already failed/);
      spec.given([uploaded, failed()]).when(startExtraction()).thenFails('CONFLICT', /while the version is failed/);
      spec.given([uploaded, extractionStarted(), failed()]).when(recordExtracted()).thenFails('CONFLICT', /while the version is failed/);
      // Stages recorded before the failure may still be repeated harmlessly.
      spec.given([uploaded, extractionStarted(), failed()]).when(startExtraction()).then([]);
    });

    it('refuses an unknown stage and a reason that is not a code', () => {
      spec.given([uploaded]).when(recordFailed(1, { stage: 'upload' })).thenFails('BAD_USER_INPUT', /stage must be one of/);
      for (const reason of ['', 'Timeout', 'time out', '-x', 'x'.repeat(65), 7]) {
        spec.given([uploaded]).when(recordFailed(1, { reason })).thenFails('BAD_USER_INPUT', /reason/);
      }
      expect(documentDecider.decide(recordFailed(1, { reason: 'x'.repeat(64) }), fold([uploaded]))).toHaveLength(1);
    });

    it('makes the message safe to store: NUL and lone surrogates replaced, trimmed, cut to 1000 characters', () => {
      const data = (message: unknown) => documentDecider.decide(recordFailed(1, { message }), fold([uploaded]))[0]!.data as { message: string };
      expect(data(' bad\u0000 \uD800 ').message).toBe('bad\uFFFD \uFFFD');
      expect(data('m'.repeat(1001)).message).toBe('m'.repeat(1000));
      expect(data(undefined).message).toBe('');
    });
  });

  describe('normalizeMediaType', () => {
    it('accepts the types the extractors handle, with parameters', () => {
      for (const type of ['application/pdf', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'text/markdown', 'image/svg+xml', 'text/csv; charset="utf-8"; header=present']) {
        expect(normalizeMediaType(type)).toBe(type);
      }
    });
  });

  describe('personal data', () => {
    it('declares the owner as subject of names and failure messages, and is part of the codec rules', () => {
      const keyScope = { kind: 'document', field: 'documentId' }; // sealed under the document's own key
      for (const type of ['DocumentUploaded', 'DocumentVersionUploaded', 'DocumentRenamed']) {
        expect(documentPersonalData[type]).toEqual({ subjectField: 'ownerId', fields: ['name'], keyScope });
      }
      expect(documentPersonalData.DocumentIngestionFailed).toEqual({ subjectField: 'ownerId', fields: ['message'], keyScope });
      for (const [type, rule] of Object.entries(documentPersonalData)) expect(personalDataRules[type]).toEqual(rule);
    });

    it('puts documentId and ownerId in every event, and the version in every ingestion event', () => {
      const reembedded: DocumentEvent = { type: 'DocumentEmbedded', data: { ...ids, version: 1, embeddingModel: 'other-model', dimensions: 64, vectorsSha256: shaC } };
      const expired: DocumentEvent = { type: 'DocumentExpired', data: { ...ids, lastActivityAt: '2026-01-01T00:00:00.000Z', retentionDays: 1 } };
      const events = [...ready, reembedded, versionUploaded(2), failed(2), renamed('X'), deleted, expired];
      for (const event of events) expect(event.data).toMatchObject(ids);
      for (const type of Object.keys(documentDecider.schemaVersions)) expect(events.some((e) => e.type === type), type).toBe(true);
    });
  });
});
