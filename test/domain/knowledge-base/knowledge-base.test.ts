import { describe, expect, it } from 'vitest';
import {
  knowledgeBaseDecider, knowledgeBasePersonalData, knowledgeBaseStream, type KnowledgeBaseCommand, type KnowledgeBaseEvent,
} from '../../../src/domain/knowledge-base/knowledge-base.ts';
import { personalDataRules } from '../../../src/domain/personal-data.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(knowledgeBaseDecider);
const ids = { knowledgeBaseId: 'k1', ownerId: 'u1' };
const fold = (events: KnowledgeBaseEvent[]) => events.reduce(knowledgeBaseDecider.evolve, knowledgeBaseDecider.initialState());

const created: KnowledgeBaseEvent = { type: 'KnowledgeBaseCreated', data: { ...ids, name: 'Taxes', description: 'Receipts\nand forms' } };
const renamed = (name: string): KnowledgeBaseEvent => ({ type: 'KnowledgeBaseRenamed', data: { ...ids, name } });
const described = (description: string | null): KnowledgeBaseEvent => ({ type: 'KnowledgeBaseDescriptionChanged', data: { ...ids, description } });
const added = (documentId: string): KnowledgeBaseEvent => ({ type: 'KnowledgeBaseDocumentAdded', data: { ...ids, documentId } });
const removed = (documentId: string): KnowledgeBaseEvent => ({ type: 'KnowledgeBaseDocumentRemoved', data: { ...ids, documentId } });
const deleted: KnowledgeBaseEvent = { type: 'KnowledgeBaseDeleted', data: ids };

const create = (overrides: Partial<Extract<KnowledgeBaseCommand, { type: 'CreateKnowledgeBase' }>> = {}): KnowledgeBaseCommand =>
  ({ type: 'CreateKnowledgeBase', ...ids, name: 'Taxes', description: 'Receipts\nand forms', ...overrides });
const rename = (name: string, actorId = 'u1'): KnowledgeBaseCommand => ({ type: 'RenameKnowledgeBase', knowledgeBaseId: 'k1', actorId, name });
const redescribe = (description: string | null, actorId = 'u1'): KnowledgeBaseCommand =>
  ({ type: 'ChangeKnowledgeBaseDescription', knowledgeBaseId: 'k1', actorId, description });
const add = (documentId: string, actorId = 'u1'): KnowledgeBaseCommand => ({ type: 'AddDocumentToKnowledgeBase', knowledgeBaseId: 'k1', actorId, documentId });
const remove = (documentId: string, actorId = 'u1'): KnowledgeBaseCommand =>
  ({ type: 'RemoveDocumentFromKnowledgeBase', knowledgeBaseId: 'k1', actorId, documentId });
const destroy = (actorId = 'u1'): KnowledgeBaseCommand => ({ type: 'DeleteKnowledgeBase', knowledgeBaseId: 'k1', actorId });

describe('Knowledge base decider', () => {
  it('names the stream', () => expect(knowledgeBaseStream('k1')).toBe('knowledge-base-k1'));

  describe('CreateKnowledgeBase', () => {
    it('creates with a trimmed name and description', () =>
      spec.given([]).when(create({ name: ' Taxes ', description: '  Receipts\nand forms\n' })).then([created]));

    it('records no description for a blank or missing one', () => {
      const none: KnowledgeBaseEvent = { type: 'KnowledgeBaseCreated', data: { ...ids, name: 'Taxes', description: null } };
      spec.given([]).when(create({ description: ' \n ' })).then([none]);
      spec.given([]).when(create({ description: undefined })).then([none]);
      spec.given([]).when(create({ description: null })).then([none]);
    });

    it('refuses an existing base and the id of a deleted one', () => {
      spec.given([created]).when(create()).thenFails('CONFLICT', /already exists/);
      spec.given([created, deleted]).when(create()).thenFails('CONFLICT');
    });

    it('refuses a blank or multi-line name and a description with NUL or a lone surrogate', () => {
      for (const name of ['', '  ', 'a\nb', 'a\u0000']) spec.given([]).when(create({ name })).thenFails('BAD_USER_INPUT', /Name/);
      spec.given([]).when(create({ description: 'a\u0000b' })).thenFails('BAD_USER_INPUT', /Description must not contain NUL/);
      spec.given([]).when(create({ description: 'a\uDC00' })).thenFails('BAD_USER_INPUT', /Description/);
    });

    it('refuses missing ids', () => {
      spec.given([]).when(create({ knowledgeBaseId: '' })).thenFails('BAD_USER_INPUT', /Knowledge base id/);
      spec.given([]).when(create({ ownerId: '' })).thenFails('BAD_USER_INPUT', /Owner id/);
    });
  });

  describe('RenameKnowledgeBase and ChangeKnowledgeBaseDescription', () => {
    it('rename, and change or remove the description', () => {
      spec.given([created]).when(rename(' Tax 2025 ')).then([renamed('Tax 2025')]);
      spec.given([created]).when(redescribe(' New ')).then([described('New')]);
      spec.given([created]).when(redescribe('   ')).then([described(null)]);
    });

    it('are no-ops for what is already there', () => {
      spec.given([created]).when(rename('Taxes')).then([]);
      spec.given([created]).when(redescribe('Receipts\nand forms')).then([]);
      spec.given([created, described(null)]).when(redescribe(null)).then([]);
    });

    it('refuse a blank name', () => spec.given([created]).when(rename(' ')).thenFails('BAD_USER_INPUT', /1 to 200/));

    it('are NOT_FOUND for a stranger, a missing and a deleted base', () => {
      spec.given([created]).when(rename('X', 'u2')).thenFails('NOT_FOUND', /Knowledge base not found/);
      spec.given([created]).when(redescribe('X', 'u2')).thenFails('NOT_FOUND');
      spec.given([]).when(rename('X')).thenFails('NOT_FOUND');
      spec.given([created, deleted]).when(redescribe('X')).thenFails('NOT_FOUND');
    });
  });

  describe('documents', () => {
    it('adds and removes documents, keeping them in the order added', () => {
      spec.given([created]).when(add('d1')).then([added('d1')]);
      spec.given([created, added('d1')]).when(remove('d1')).then([removed('d1')]);
      const state = fold([created, added('d2'), added('d1'), added('d3'), removed('d1')]);
      expect(state.status === 'active' && [...state.documentIds]).toEqual(['d2', 'd3']);
    });

    it('adding a member again or removing a non-member is a no-op (safe to retry)', () => {
      spec.given([created, added('d1')]).when(add('d1')).then([]);
      spec.given([created]).when(remove('d1')).then([]);
      spec.given([created, added('d1'), removed('d1')]).when(remove('d1')).then([]);
      spec.given([created, added('d1'), removed('d1')]).when(add('d1')).then([added('d1')]);
    });

    it('refuses an empty or malformed document id', () => {
      spec.given([created]).when(add('')).thenFails('BAD_USER_INPUT', /Document id is required/);
      spec.given([created]).when(add('a\nb')).thenFails('BAD_USER_INPUT', /Document id/);
      spec.given([created]).when(remove('')).thenFails('BAD_USER_INPUT', /Document id/);
    });

    it('is NOT_FOUND for a stranger and a deleted base', () => {
      spec.given([created]).when(add('d1', 'u2')).thenFails('NOT_FOUND');
      spec.given([created, added('d1')]).when(remove('d1', 'u2')).thenFails('NOT_FOUND');
      spec.given([created, deleted]).when(add('d1')).thenFails('NOT_FOUND');
    });
  });

  describe('DeleteKnowledgeBase', () => {
    it('deletes', () => spec.given([created, added('d1')]).when(destroy()).then([deleted]));

    it('is NOT_FOUND for a stranger and when already deleted (as for conversations and documents)', () => {
      spec.given([created]).when(destroy('u2')).thenFails('NOT_FOUND');
      spec.given([created, deleted]).when(destroy()).thenFails('NOT_FOUND');
    });

    it('leaves only the ids in the state', () => expect(fold([created, added('d1'), deleted])).toEqual({ status: 'deleted', ...ids }));
  });

  it('folds every event into the state', () =>
    expect(fold([created, renamed('Tax'), described('D'), added('d1')]))
      .toEqual({ status: 'active', ...ids, name: 'Tax', description: 'D', documentIds: new Set(['d1']) }));

  describe('personal data', () => {
    it('declares the owner as subject of names and descriptions, and is part of the codec rules', () => {
      expect(knowledgeBasePersonalData.KnowledgeBaseCreated).toEqual({ subjectField: 'ownerId', fields: ['name', 'description'] });
      expect(knowledgeBasePersonalData.KnowledgeBaseRenamed).toEqual({ subjectField: 'ownerId', fields: ['name'] });
      expect(knowledgeBasePersonalData.KnowledgeBaseDescriptionChanged).toEqual({ subjectField: 'ownerId', fields: ['description'] });
      for (const [type, rule] of Object.entries(knowledgeBasePersonalData)) expect(personalDataRules[type]).toEqual(rule);
    });

    it('puts knowledgeBaseId and ownerId in every event', () => {
      const events = [created, renamed('X'), described(null), added('d1'), removed('d1'), deleted];
      for (const event of events) expect(event.data).toMatchObject(ids);
      expect(new Set(events.map((e) => e.type))).toEqual(new Set(Object.keys(knowledgeBaseDecider.schemaVersions)));
    });
  });
});
