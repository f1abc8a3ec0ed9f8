import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/decider.ts';
import { documentDecider, INGESTION_STAGES, type DocumentCommand, type DocumentEvent, type DocumentState } from '../../../src/domain/document/document.ts';

// Whatever order the ingestion reactor's records arrive in — late, repeated, for old versions, with
// new versions uploaded in between — the log of a document stays a sensible history.

const sha = (n: number) => n.toString(16).padStart(64, '0');
const uploaded: DocumentEvent = {
  type: 'DocumentUploaded', data: { documentId: 'd1', ownerId: 'u1', version: 1, name: 'a.pdf', mediaType: 'application/pdf', sha256: sha(1), size: 1 },
};

/** Mostly the current version, sometimes an older one (late work) or one not uploaded yet. */
const offset = fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constant(1) });
type Step = (current: number) => DocumentCommand;
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n): Step => () =>
    ({ type: 'UploadDocumentVersion', documentId: 'd1', actorId: 'u1', mediaType: 'application/pdf', sha256: sha(n), size: n })) },
  { weight: 3, arbitrary: offset.map((o): Step => (v) => ({ type: 'StartExtraction', documentId: 'd1', version: v + o })) },
  { weight: 3, arbitrary: fc.tuple(offset, fc.integer({ min: 0, max: 1 })).map(([o, pages]): Step => (v) =>
    ({ type: 'RecordExtracted', documentId: 'd1', version: v + o, pages, characters: pages * 10, ocrPages: 0 })) },
  { weight: 3, arbitrary: fc.tuple(offset, fc.integer({ min: 0, max: 1 })).map(([o, chunkCount]): Step => (v) =>
    ({ type: 'RecordChunked', documentId: 'd1', version: v + o, chunkCount, chunkTokens: 512, overlapTokens: 64, chunksSha256: sha(9) })) },
  { weight: 3, arbitrary: fc.tuple(offset, fc.boolean()).map(([o, lexical]): Step => (v) => ({
    type: 'RecordIndexed', documentId: 'd1', version: v + o,
    ...(lexical ? { embeddingModel: null, dimensions: null, vectorsSha256: null } : { embeddingModel: 'e', dimensions: 4, vectorsSha256: null }),
  })) },
  { weight: 1, arbitrary: fc.tuple(offset, fc.constantFrom(...INGESTION_STAGES), fc.constantFrom('timeout', 'corrupt')).map(([o, stage, reason]): Step => (v) =>
    ({ type: 'RecordIngestionFailed', documentId: 'd1', version: v + o, stage, reason, message: 'x' })) },
);

const ORDER = ['DocumentExtractionStarted', 'DocumentExtracted', 'DocumentChunked', 'DocumentIndexed'];

describe('document ingestion under any order of records', () => {
  it('records ingestion only for the current version, in order, and never after a version is final', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      let state: DocumentState = documentDecider.evolve(documentDecider.initialState(), uploaded);
      const log: DocumentEvent[] = [uploaded];
      for (const next of steps) {
        let events: DocumentEvent[];
        const command = next(state.status === 'active' ? state.current.version : 1);
        try {
          events = documentDecider.decide(command, state);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          continue;
        }
        for (const event of events) {
          const current = state.status === 'active' ? state.current.version : 0;
          // An ingestion event is for the version the record named, and that is the current one.
          if (event.type !== 'DocumentVersionUploaded') expect(event.data).toMatchObject({ version: current });
          if ('version' in command) expect(event.data).toMatchObject({ version: command.version });
          const before = state.status === 'active' ? state.indexedVersion : null;
          state = documentDecider.evolve(state, event);
          const after = state.status === 'active' ? state.indexedVersion : null;
          if (event.type !== 'DocumentIndexed') expect(after).toBe(before);
          log.push(event);
          seen.add(event.type);
        }
      }
      // Per version: a prefix of the stages, optionally ending in one failure, and nothing after it.
      const byVersion = new Map<number, string[]>();
      for (const event of log) {
        if (event.type === 'DocumentUploaded' || event.type === 'DocumentVersionUploaded') byVersion.set(event.data.version, []);
        else if ('version' in event.data) byVersion.get(event.data.version)!.push(event.type);
      }
      for (const types of byVersion.values()) {
        const failures = types.filter((t) => t === 'DocumentIngestionFailed').length;
        expect(failures).toBeLessThanOrEqual(1);
        if (failures === 1) expect(types.at(-1)).toBe('DocumentIngestionFailed');
        expect(types.filter((t) => t !== 'DocumentIngestionFailed')).toEqual(ORDER.slice(0, types.length - failures));
      }
      // The indexed version, if any, is the newest version that got indexed.
      const indexed = log.filter((e) => e.type === 'DocumentIndexed').map((e) => e.data.version);
      expect(state.status === 'active' && state.indexedVersion).toBe(indexed.length ? Math.max(...indexed) : null);
    }), { numRuns: 500 });
    // The runs reached every kind of event, so the property was not checked on trivial histories only.
    expect([...seen].sort()).toEqual(Object.keys(documentDecider.schemaVersions).filter((t) => !['DocumentUploaded', 'DocumentRenamed', 'DocumentDeleted', 'DocumentExpired', 'DocumentEmbedded'].includes(t)).sort());
  });
});
