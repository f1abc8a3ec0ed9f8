import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/decider.ts';
import {
  documentDecider, MAX_DOCUMENT_NAME_LENGTH, MAX_DOCUMENT_VERSIONS, MAX_EMBEDDING_DIMENSIONS, MAX_EMBEDDING_MODEL_LENGTH,
  MAX_MEDIA_TYPE_LENGTH, type DocumentCommand, type DocumentEvent, type DocumentState,
} from '../../../src/domain/document/document.ts';
import { refusal as refuse } from '../../support/refusal.ts';

// Every limit pinned exactly: the limit itself is accepted, one more is refused with BAD_USER_INPUT naming the limit.

const ids = { documentId: 'd1', ownerId: 'u1' };
const sha = (n: number) => n.toString(16).padStart(64, '0');
const uploaded: DocumentEvent = {
  type: 'DocumentUploaded', data: { ...ids, version: 1, name: 'Report.pdf', mediaType: 'application/pdf', sha256: sha(1), size: 10 },
};
const fold = (events: DocumentEvent[]) => events.reduce(documentDecider.evolve, documentDecider.initialState());
const fresh = () => fold([]);
const afterUpload = () => fold([uploaded]);
const afterChunking = () => fold([
  uploaded,
  { type: 'DocumentExtractionStarted', data: { ...ids, version: 1 } },
  { type: 'DocumentExtracted', data: { ...ids, version: 1, pages: 1, characters: 10, ocrPages: 0 } },
  { type: 'DocumentChunked', data: { ...ids, version: 1, chunkCount: 1, chunkTokens: 512, overlapTokens: 64, chunksSha256: sha(2) } },
]);

const upload = (overrides: Record<string, unknown>): DocumentCommand =>
  ({ type: 'UploadDocument', ...ids, name: 'Report.pdf', mediaType: 'application/pdf', sha256: sha(1), size: 10, ...overrides }) as DocumentCommand;
const uploadVersion = (overrides: Record<string, unknown>): DocumentCommand =>
  ({ type: 'UploadDocumentVersion', documentId: 'd1', actorId: 'u1', mediaType: 'application/pdf', sha256: sha(3), size: 10, ...overrides }) as DocumentCommand;
const rename = (name: string): DocumentCommand => ({ type: 'RenameDocument', documentId: 'd1', actorId: 'u1', name });
const indexed = (overrides: Record<string, unknown>): DocumentCommand =>
  ({ type: 'RecordIndexed', documentId: 'd1', version: 1, embeddingModel: 'm', dimensions: 8, vectorsSha256: null, ...overrides }) as DocumentCommand;

const refusal = (run: () => unknown) => refuse(run, DomainError);
/** A media type of exactly `length` characters. */
const mediaType = (length: number) => `text/plain; q=${'v'.repeat(length - 'text/plain; q='.length)}`;

const cases: Array<{ name: string; limit: number; value: (length: number) => unknown; command: (value: unknown) => DocumentCommand; state: () => DocumentState; field: string }> = [
  { name: 'name when uploading', limit: MAX_DOCUMENT_NAME_LENGTH, value: (n) => 'n'.repeat(n), command: (name) => upload({ name }), state: fresh, field: 'name' },
  { name: 'name of a new version', limit: MAX_DOCUMENT_NAME_LENGTH, value: (n) => 'n'.repeat(n), command: (name) => uploadVersion({ name }), state: afterUpload, field: 'name' },
  { name: 'name when renaming', limit: MAX_DOCUMENT_NAME_LENGTH, value: (n) => 'n'.repeat(n), command: (name) => rename(name as string), state: afterUpload, field: 'name' },
  { name: 'media type', limit: MAX_MEDIA_TYPE_LENGTH, value: mediaType, command: (type) => upload({ mediaType: type }), state: fresh, field: 'mediaType' },
  { name: 'media type of a new version', limit: MAX_MEDIA_TYPE_LENGTH, value: mediaType, command: (type) => uploadVersion({ mediaType: type }), state: afterUpload, field: 'mediaType' },
  { name: 'embedding model', limit: MAX_EMBEDDING_MODEL_LENGTH, value: (n) => 'm'.repeat(n), command: (model) => indexed({ embeddingModel: model }), state: afterChunking, field: 'embeddingModel' },
  { name: 'embedding dimensions', limit: MAX_EMBEDDING_DIMENSIONS, value: (n) => n, command: (dimensions) => indexed({ dimensions }), state: afterChunking, field: 'dimensions' },
];

describe('document limits', () => {
  for (const { name, limit, value, command, state, field } of cases) {
    describe(name, () => {
      it(`accepts ${limit} and records it`, () => {
        const events = documentDecider.decide(command(value(limit)), state());
        expect(events).toHaveLength(1);
        expect((events[0]!.data as unknown as Record<string, unknown>)[field]).toBe(value(limit));
      });

      it(`refuses ${limit + 1} with the limit in the message`, () => {
        const error = refusal(() => documentDecider.decide(command(value(limit + 1)), state()));
        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.message).toContain(String(limit));
      });
    });
  }

  describe('versions', () => {
    const withVersions = (count: number) => fold([uploaded, ...Array.from({ length: count - 1 }, (_, i): DocumentEvent => ({
      type: 'DocumentVersionUploaded', data: { ...ids, version: i + 2, name: 'Report.pdf', mediaType: 'application/pdf', sha256: sha(i + 10), size: 10 },
    }))]);

    it(`accepts version ${MAX_DOCUMENT_VERSIONS}`, () => {
      const events = documentDecider.decide(uploadVersion({}), withVersions(MAX_DOCUMENT_VERSIONS - 1));
      expect(events[0]!.data).toMatchObject({ version: MAX_DOCUMENT_VERSIONS });
    });

    it(`refuses version ${MAX_DOCUMENT_VERSIONS + 1} with the limit in the message`, () => {
      const error = refusal(() => documentDecider.decide(uploadVersion({}), withVersions(MAX_DOCUMENT_VERSIONS)));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain(String(MAX_DOCUMENT_VERSIONS));
    });
  });
});
