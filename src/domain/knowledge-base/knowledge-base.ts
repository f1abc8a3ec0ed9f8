import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { checkId } from '../identifiers.ts';
import { checkText } from '../text.ts';

/**
 * A knowledge base: a named set of one owner's documents that can be attached to conversations.
 * Whether a document exists and is the owner's is checked by the command layer (it reads the
 * document's stream); this decider only keeps the set. Adding a member twice or removing a
 * non-member changes nothing (set semantics, safe to retry). A removed document need not exist any
 * more, so the id of a deleted document can always be taken out.
 */

// --- limits ---------------------------------------------------------------------------------------

export const MAX_KNOWLEDGE_BASE_NAME_LENGTH = 200;
export const MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH = 2000;
export const MAX_KNOWLEDGE_BASE_DOCUMENTS = 1000;

// --- events, commands, state ----------------------------------------------------------------------

interface Ids { knowledgeBaseId: string; ownerId: string }

export type KnowledgeBaseCreated = DomainEvent<'KnowledgeBaseCreated', Ids & { name: string; description: string | null }>;
export type KnowledgeBaseRenamed = DomainEvent<'KnowledgeBaseRenamed', Ids & { name: string }>;
export type KnowledgeBaseDescriptionChanged = DomainEvent<'KnowledgeBaseDescriptionChanged', Ids & { description: string | null }>;
export type KnowledgeBaseDocumentAdded = DomainEvent<'KnowledgeBaseDocumentAdded', Ids & { documentId: string }>;
export type KnowledgeBaseDocumentRemoved = DomainEvent<'KnowledgeBaseDocumentRemoved', Ids & { documentId: string }>;
/** Terminal: afterwards every command on the stream fails with NOT_FOUND. */
export type KnowledgeBaseDeleted = DomainEvent<'KnowledgeBaseDeleted', Ids>;

export type KnowledgeBaseEvent =
  | KnowledgeBaseCreated
  | KnowledgeBaseRenamed
  | KnowledgeBaseDescriptionChanged
  | KnowledgeBaseDocumentAdded
  | KnowledgeBaseDocumentRemoved
  | KnowledgeBaseDeleted;

export type KnowledgeBaseCommand =
  | { type: 'CreateKnowledgeBase'; knowledgeBaseId: string; ownerId: string; name: string; description?: string | null }
  | { type: 'RenameKnowledgeBase'; knowledgeBaseId: string; actorId: string; name: string }
  /** A blank or null description removes it. */
  | { type: 'ChangeKnowledgeBaseDescription'; knowledgeBaseId: string; actorId: string; description: string | null }
  | { type: 'AddDocumentToKnowledgeBase'; knowledgeBaseId: string; actorId: string; documentId: string }
  | { type: 'RemoveDocumentFromKnowledgeBase'; knowledgeBaseId: string; actorId: string; documentId: string }
  | { type: 'DeleteKnowledgeBase'; knowledgeBaseId: string; actorId: string };

export type KnowledgeBaseState =
  | { status: 'none' }
  | {
      status: 'active'; knowledgeBaseId: string; ownerId: string; name: string; description: string | null;
      /** Member documents in the order they were added. */
      documentIds: ReadonlySet<string>;
    }
  | { status: 'deleted'; knowledgeBaseId: string; ownerId: string };

export type ActiveKnowledgeBase = Extract<KnowledgeBaseState, { status: 'active' }>;

export const knowledgeBaseStream = (knowledgeBaseId: string) => `knowledge-base-${knowledgeBaseId}`;

/** ownerId is the data subject of a knowledge base's name and description. */
export const knowledgeBasePersonalData: Readonly<Record<string, PersonalFields>> = {
  KnowledgeBaseCreated: { subjectField: 'ownerId', fields: ['name', 'description'] },
  KnowledgeBaseRenamed: { subjectField: 'ownerId', fields: ['name'] },
  KnowledgeBaseDescriptionChanged: { subjectField: 'ownerId', fields: ['description'] },
};

// --- validation -----------------------------------------------------------------------------------

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

/** Trimmed; 1 to MAX_KNOWLEDGE_BASE_NAME_LENGTH characters on one line. */
export function normalizeKnowledgeBaseName(raw: unknown): string {
  const name = checkText(raw ?? '', 'Name', 'single-line').trim();
  if (name.length === 0 || name.length > MAX_KNOWLEDGE_BASE_NAME_LENGTH) {
    throw bad(`Name must be 1 to ${MAX_KNOWLEDGE_BASE_NAME_LENGTH} characters`);
  }
  return name;
}

/** Trimmed, may span lines; blank means none. */
export function normalizeKnowledgeBaseDescription(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const description = checkText(raw, 'Description').trim();
  if (description.length === 0) return null;
  if (description.length > MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH) {
    throw bad(`Description must be at most ${MAX_KNOWLEDGE_BASE_DESCRIPTION_LENGTH} characters`);
  }
  return description;
}

// --- guards ---------------------------------------------------------------------------------------

const notFound = () => new DomainError('NOT_FOUND', 'Knowledge base not found');

/** A non-owner gets NOT_FOUND, not FORBIDDEN, as for conversations and documents. */
function requireOwned(state: KnowledgeBaseState, actorId: string): ActiveKnowledgeBase {
  if (state.status !== 'active' || state.ownerId !== actorId) throw notFound();
  return state;
}

const idsOf = (base: ActiveKnowledgeBase): Ids => ({ knowledgeBaseId: base.knowledgeBaseId, ownerId: base.ownerId });

// --- decider --------------------------------------------------------------------------------------

export const knowledgeBaseDecider: Decider<KnowledgeBaseCommand, KnowledgeBaseState, KnowledgeBaseEvent> = {
  initialState: () => ({ status: 'none' }),

  evolve(state, event) {
    switch (event.type) {
      case 'KnowledgeBaseCreated': {
        const d = event.data;
        return { status: 'active', knowledgeBaseId: d.knowledgeBaseId, ownerId: d.ownerId, name: d.name, description: d.description, documentIds: new Set() };
      }
      case 'KnowledgeBaseRenamed':
        return state.status === 'active' ? { ...state, name: event.data.name } : state;
      case 'KnowledgeBaseDescriptionChanged':
        return state.status === 'active' ? { ...state, description: event.data.description } : state;
      case 'KnowledgeBaseDocumentAdded':
        return state.status === 'active' ? { ...state, documentIds: new Set(state.documentIds).add(event.data.documentId) } : state;
      case 'KnowledgeBaseDocumentRemoved': {
        if (state.status !== 'active') return state;
        const documentIds = new Set(state.documentIds);
        documentIds.delete(event.data.documentId);
        return { ...state, documentIds };
      }
      case 'KnowledgeBaseDeleted':
        return { status: 'deleted', knowledgeBaseId: event.data.knowledgeBaseId, ownerId: event.data.ownerId };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateKnowledgeBase': {
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Knowledge base already exists');
        return [{
          type: 'KnowledgeBaseCreated',
          data: {
            knowledgeBaseId: checkId(command.knowledgeBaseId, 'Knowledge base id'), ownerId: checkId(command.ownerId, 'Owner id'),
            name: normalizeKnowledgeBaseName(command.name), description: normalizeKnowledgeBaseDescription(command.description),
          },
        }];
      }

      case 'RenameKnowledgeBase': {
        const base = requireOwned(state, command.actorId);
        const name = normalizeKnowledgeBaseName(command.name);
        return name === base.name ? [] : [{ type: 'KnowledgeBaseRenamed', data: { ...idsOf(base), name } }];
      }

      case 'ChangeKnowledgeBaseDescription': {
        const base = requireOwned(state, command.actorId);
        const description = normalizeKnowledgeBaseDescription(command.description);
        return description === base.description ? [] : [{ type: 'KnowledgeBaseDescriptionChanged', data: { ...idsOf(base), description } }];
      }

      case 'AddDocumentToKnowledgeBase': {
        const base = requireOwned(state, command.actorId);
        const documentId = checkId(command.documentId, 'Document id');
        if (base.documentIds.has(documentId)) return [];
        if (base.documentIds.size >= MAX_KNOWLEDGE_BASE_DOCUMENTS) {
          throw bad(`A knowledge base can hold at most ${MAX_KNOWLEDGE_BASE_DOCUMENTS} documents`);
        }
        return [{ type: 'KnowledgeBaseDocumentAdded', data: { ...idsOf(base), documentId } }];
      }

      case 'RemoveDocumentFromKnowledgeBase': {
        const base = requireOwned(state, command.actorId);
        const documentId = checkId(command.documentId, 'Document id');
        return base.documentIds.has(documentId) ? [{ type: 'KnowledgeBaseDocumentRemoved', data: { ...idsOf(base), documentId } }] : [];
      }

      case 'DeleteKnowledgeBase': {
        const base = requireOwned(state, command.actorId);
        return [{ type: 'KnowledgeBaseDeleted', data: idsOf(base) }];
      }
    }
  },

  schemaVersions: {
    KnowledgeBaseCreated: 1,
    KnowledgeBaseRenamed: 1,
    KnowledgeBaseDescriptionChanged: 1,
    KnowledgeBaseDocumentAdded: 1,
    KnowledgeBaseDocumentRemoved: 1,
    KnowledgeBaseDeleted: 1,
  },
};
