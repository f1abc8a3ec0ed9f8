import { describe, expect, it } from 'vitest';
import { documentDecider, documentPersonalData, type DocumentCommand, type DocumentEvent } from '../../../src/domain/document/document.ts';
import { currentSchemaVersions } from '../../../src/domain/event-versions.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

// RecordEmbedded: the re-embedding reactor adds another model's vectors to the version that serves.

const spec = deciderSpec(documentDecider);
const ids = { documentId: 'd1', ownerId: 'u1' };
const sha = (c: string) => c.repeat(64);
const fold = (events: DocumentEvent[]) => events.reduce(documentDecider.evolve, documentDecider.initialState());

const uploaded: DocumentEvent = {
  type: 'DocumentUploaded', data: { ...ids, version: 1, name: 'Report.pdf', mediaType: 'application/pdf', sha256: sha('a'), size: 10 },
};
const versionUploaded = (version: number): DocumentEvent =>
  ({ type: 'DocumentVersionUploaded', data: { ...ids, version, name: 'Report.pdf', mediaType: 'application/pdf', sha256: sha('b'), size: 20 } });
const ingested = (version: number, embedding: { embeddingModel: string | null; dimensions: number | null; vectorsSha256: string | null }): DocumentEvent[] => [
  { type: 'DocumentExtractionStarted', data: { ...ids, version } },
  { type: 'DocumentExtracted', data: { ...ids, version, pages: 1, characters: 100, ocrPages: 0 } },
  { type: 'DocumentChunked', data: { ...ids, version, chunkCount: 2, chunkTokens: 512, overlapTokens: 64, chunksSha256: sha(String(version)) } },
  { type: 'DocumentIndexed', data: { ...ids, version, ...embedding } },
];
const LEXICAL = { embeddingModel: null, dimensions: null, vectorsSha256: null };
const MODEL_A = { embeddingModel: 'openai:model-a', dimensions: 32, vectorsSha256: sha('c') };
const MODEL_B = { embeddingModel: 'openai:model-b', dimensions: 64, vectorsSha256: sha('d') };
const embedded = (version: number, facts: typeof MODEL_A): DocumentEvent => ({ type: 'DocumentEmbedded', data: { ...ids, version, ...facts } });
const recordEmbedded = (version: number, facts: Partial<typeof MODEL_A> | Record<string, unknown> = MODEL_B): DocumentCommand =>
  ({ type: 'RecordEmbedded', documentId: 'd1', version, ...MODEL_B, ...facts } as DocumentCommand);

const lexicalDoc = [uploaded, ...ingested(1, LEXICAL)];
const modelADoc = [uploaded, ...ingested(1, MODEL_A)];

describe('RecordEmbedded', () => {
  it('records vectors for a version indexed lexical-only', () =>
    spec.given(lexicalDoc).when(recordEmbedded(1)).then([embedded(1, MODEL_B)]));

  it('records vectors of another model for a version indexed with vectors', () =>
    spec.given(modelADoc).when(recordEmbedded(1)).then([embedded(1, MODEL_B)]));

  it('records another dimension of the same model (a different space)', () =>
    spec.given(modelADoc).when(recordEmbedded(1, { ...MODEL_A, dimensions: 16 })).then([embedded(1, { ...MODEL_A, dimensions: 16 })]));

  it('records nothing for an identical repeat (the reactor re-ran after a crash)', () =>
    spec.given([...modelADoc, embedded(1, MODEL_B)]).when(recordEmbedded(1)).then([]));

  it('records nothing when the version was indexed with that model in the first place', () =>
    spec.given(modelADoc).when(recordEmbedded(1, MODEL_A)).then([]));

  it('refuses other vectors for the model that already serves', () =>
    spec.given([...modelADoc, embedded(1, MODEL_B)]).when(recordEmbedded(1, { vectorsSha256: sha('e') })).thenFails('CONFLICT', /other values/));

  it('records a switch back to a model the version had vectors for before (it serves again)', () =>
    spec.given([...modelADoc, embedded(1, MODEL_B)]).when(recordEmbedded(1, MODEL_A)).then([embedded(1, MODEL_A)]));

  it('takes the indexed version while a newer version is still being ingested', () =>
    spec.given([...modelADoc, versionUploaded(2)]).when(recordEmbedded(1)).then([embedded(1, MODEL_B)]));

  it('refuses a version that is not the indexed one any more (stale work)', () =>
    spec.given([...modelADoc, versionUploaded(2), ...ingested(2, MODEL_A)]).when(recordEmbedded(1)).thenFails('CONFLICT', /not the indexed version/));

  it('refuses a version not indexed yet', () =>
    spec.given([...modelADoc, versionUploaded(2)]).when(recordEmbedded(2)).thenFails('CONFLICT', /not the indexed version/));

  it('refuses a document with no indexed version', () =>
    spec.given([uploaded]).when(recordEmbedded(1)).thenFails('CONFLICT', /no indexed version/));

  it('refuses a version that does not exist', () =>
    spec.given(modelADoc).when(recordEmbedded(3)).thenFails('NOT_FOUND'));

  it('refuses a deleted document', () =>
    spec.given([...modelADoc, { type: 'DocumentDeleted', data: ids }]).when(recordEmbedded(1)).thenFails('NOT_FOUND'));

  it('refuses a document that was never uploaded', () =>
    spec.given([]).when(recordEmbedded(1)).thenFails('NOT_FOUND'));

  it.each([
    ['no model', { embeddingModel: null }],
    ['an empty model', { embeddingModel: '  ' }],
    ['a model on two lines', { embeddingModel: 'a\nb' }],
    ['a model too long', { embeddingModel: 'm'.repeat(201) }],
    ['no dimensions', { dimensions: null }],
    ['zero dimensions', { dimensions: 0 }],
    ['too many dimensions', { dimensions: 65_537 }],
    ['fractional dimensions', { dimensions: 1.5 }],
    ['no vectors artifact', { vectorsSha256: null }],
    ['a vectors sha that is not hex', { vectorsSha256: 'z'.repeat(64) }],
  ])('refuses %s', (_, facts) => spec.given(lexicalDoc).when(recordEmbedded(1, facts)).thenFails('BAD_USER_INPUT'));

  it.each([[0], [-1], [1.5], ['1']])('refuses version %j', (version) =>
    spec.given(lexicalDoc).when(recordEmbedded(version as number)).thenFails('BAD_USER_INPUT'));

  it('keeps one entry per space in the state, the newest last (the serving one)', () => {
    const state = fold([...modelADoc, embedded(1, MODEL_B), embedded(1, MODEL_A)]);
    expect(state).toMatchObject({ indexedVersion: 1, indexedChunksSha256: sha('1'), indexedEmbeddings: [MODEL_B, MODEL_A] });
  });

  it('starts the embeddings over when a new version is indexed', () => {
    const state = fold([...modelADoc, embedded(1, MODEL_B), versionUploaded(2), ...ingested(2, LEXICAL)]);
    expect(state).toMatchObject({ indexedVersion: 2, indexedChunksSha256: sha('2'), indexedEmbeddings: [] });
  });

  it('keeps the indexed version\'s chunks while a newer version is ingested', () => {
    const state = fold([...modelADoc, versionUploaded(2), ingested(2, LEXICAL)[2]!]);
    expect(state).toMatchObject({ indexedVersion: 1, indexedChunksSha256: sha('1') });
  });

  it('is schema version 1 and holds no personal data', () => {
    expect(currentSchemaVersions.DocumentEmbedded).toBe(1);
    expect(documentPersonalData.DocumentEmbedded).toBeUndefined();
  });
});
