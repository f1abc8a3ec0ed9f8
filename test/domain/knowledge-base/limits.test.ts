import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../src/domain/decider.ts';
import { MAX_ID_LENGTH } from '../../../src/domain/identifiers.ts';
import {
  knowledgeBaseDecider, MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH, MAX_KNOWLEDGE_BASE_DOCUMENTS, MAX_KNOWLEDGE_BASE_NAME_LENGTH,
  type KnowledgeBaseCommand, type KnowledgeBaseEvent, type KnowledgeBaseState,
} from '../../../src/domain/knowledge-base/knowledge-base.ts';
import { refusal as refuse } from '../../support/refusal.ts';

// Every limit pinned exactly: the limit itself is accepted, one more is refused with BAD_USER_INPUT naming the limit.

const ids = { knowledgeBaseId: 'k1', ownerId: 'u1' };
const created: KnowledgeBaseEvent = { type: 'KnowledgeBaseCreated', data: { ...ids, name: 'Taxes', description: null } };
const fold = (events: KnowledgeBaseEvent[]) => events.reduce(knowledgeBaseDecider.evolve, knowledgeBaseDecider.initialState());
const fresh = () => fold([]);
const afterCreate = () => fold([created]);
const refusal = (run: () => unknown) => refuse(run, DomainError);

const create = (overrides: Record<string, unknown>): KnowledgeBaseCommand =>
  ({ type: 'CreateKnowledgeBase', ...ids, name: 'Taxes', description: null, ...overrides }) as KnowledgeBaseCommand;
const add = (documentId: string): KnowledgeBaseCommand => ({ type: 'AddDocumentToKnowledgeBase', knowledgeBaseId: 'k1', actorId: 'u1', documentId });

const cases: Array<{ name: string; limit: number; command: (value: string) => KnowledgeBaseCommand; state: () => KnowledgeBaseState; field: string }> = [
  { name: 'name when creating', limit: MAX_KNOWLEDGE_BASE_NAME_LENGTH, command: (name) => create({ name }), state: fresh, field: 'name' },
  {
    name: 'name when renaming', limit: MAX_KNOWLEDGE_BASE_NAME_LENGTH, state: afterCreate, field: 'name',
    command: (name) => ({ type: 'RenameKnowledgeBase', knowledgeBaseId: 'k1', actorId: 'u1', name }),
  },
  { name: 'description when creating', limit: MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH, command: (description) => create({ description }), state: fresh, field: 'description' },
  {
    name: 'description when changing it', limit: MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH, state: afterCreate, field: 'description',
    command: (description) => ({ type: 'ChangeKnowledgeBaseDescription', knowledgeBaseId: 'k1', actorId: 'u1', description }),
  },
  { name: 'knowledge base id', limit: MAX_ID_LENGTH, command: (knowledgeBaseId) => create({ knowledgeBaseId }), state: fresh, field: 'knowledgeBaseId' },
  { name: 'document id', limit: MAX_ID_LENGTH, command: add, state: afterCreate, field: 'documentId' },
];

describe('knowledge base limits', () => {
  for (const { name, limit, command, state, field } of cases) {
    describe(name, () => {
      it(`accepts exactly ${limit} characters and records them`, () => {
        const value = 'x'.repeat(limit);
        const events = knowledgeBaseDecider.decide(command(value), state());
        expect(events).toHaveLength(1);
        expect((events[0]!.data as unknown as Record<string, unknown>)[field]).toBe(value);
      });

      it(`refuses ${limit + 1} characters with the limit in the message`, () => {
        const error = refusal(() => knowledgeBaseDecider.decide(command('x'.repeat(limit + 1)), state()));
        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.message).toContain(String(limit));
      });
    });
  }

  describe('documents per base', () => {
    const holding = (count: number) => fold([created, ...Array.from({ length: count }, (_, i): KnowledgeBaseEvent =>
      ({ type: 'KnowledgeBaseDocumentAdded', data: { ...ids, documentId: `d${i}` } }))]);

    it(`accepts document number ${MAX_KNOWLEDGE_BASE_DOCUMENTS}`, () =>
      expect(knowledgeBaseDecider.decide(add('new'), holding(MAX_KNOWLEDGE_BASE_DOCUMENTS - 1))).toHaveLength(1));

    it(`refuses document number ${MAX_KNOWLEDGE_BASE_DOCUMENTS + 1} with the limit in the message`, () => {
      const error = refusal(() => knowledgeBaseDecider.decide(add('new'), holding(MAX_KNOWLEDGE_BASE_DOCUMENTS)));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain(String(MAX_KNOWLEDGE_BASE_DOCUMENTS));
    });

    it('when full, still takes a member again (a no-op) and removals', () => {
      expect(knowledgeBaseDecider.decide(add('d0'), holding(MAX_KNOWLEDGE_BASE_DOCUMENTS))).toEqual([]);
      expect(knowledgeBaseDecider.decide({ type: 'RemoveDocumentFromKnowledgeBase', knowledgeBaseId: 'k1', actorId: 'u1', documentId: 'd0' },
        holding(MAX_KNOWLEDGE_BASE_DOCUMENTS))).toHaveLength(1);
    });
  });
});
