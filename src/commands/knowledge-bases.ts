import { DomainError } from '../domain/decider.ts';
import { checkId } from '../domain/identifiers.ts';
import {
  knowledgeBaseDecider, knowledgeBaseStream, type KnowledgeBaseCommand, type KnowledgeBaseEvent, type KnowledgeBaseState,
} from '../domain/knowledge-base/knowledge-base.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { requireOwnDocument } from './documents.ts';
import { executeCommand, loadAggregate, type CommandResult } from './execute-command.ts';

export interface KnowledgeBaseCommandsDeps {
  store: EventStore;
}

export interface CreateKnowledgeBaseInput {
  ownerId: string;
  name: string;
  description?: string | null;
  /** Normally left out: a new id is taken from the context. */
  knowledgeBaseId?: string;
}

interface MemberInput { knowledgeBaseId: string; actorId: string; documentId: string }

type KnowledgeBaseResult = CommandResult<KnowledgeBaseState, KnowledgeBaseEvent>;

export function createKnowledgeBaseCommands({ store }: KnowledgeBaseCommandsDeps) {
  const run = (command: KnowledgeBaseCommand, context: CommandContext): Promise<KnowledgeBaseResult> =>
    executeCommand(store, knowledgeBaseDecider, knowledgeBaseStream(command.knowledgeBaseId), command, context);

  return {
    run,

    async createKnowledgeBase(input: CreateKnowledgeBaseInput, context: CommandContext) {
      const knowledgeBaseId = input.knowledgeBaseId ?? context.newId();
      const result = await run({
        type: 'CreateKnowledgeBase', knowledgeBaseId, ownerId: input.ownerId, name: input.name, description: input.description ?? null,
      }, context);
      return { knowledgeBaseId, ...result };
    },

    renameKnowledgeBase(input: { knowledgeBaseId: string; actorId: string; name: string }, context: CommandContext) {
      return run({ type: 'RenameKnowledgeBase', ...input }, context);
    },

    changeKnowledgeBaseDescription(input: { knowledgeBaseId: string; actorId: string; description: string | null }, context: CommandContext) {
      return run({ type: 'ChangeKnowledgeBaseDescription', ...input }, context);
    },

    /**
     * The document must exist and be the actor's (NOT_FOUND otherwise, like a missing base). It is
     * checked before the base is written, so a document deleted at the same moment can still end up
     * listed: retrieval skips deleted documents, and removing one never needs it to exist.
     */
    async addDocumentToKnowledgeBase(input: MemberInput, context: CommandContext) {
      await requireOwnKnowledgeBase(store, input.knowledgeBaseId, input.actorId);
      await requireOwnDocument(store, input.documentId, input.actorId);
      return run({ type: 'AddDocumentToKnowledgeBase', ...input }, context);
    },

    removeDocumentFromKnowledgeBase(input: MemberInput, context: CommandContext) {
      return run({ type: 'RemoveDocumentFromKnowledgeBase', ...input }, context);
    },

    deleteKnowledgeBase(input: { knowledgeBaseId: string; actorId: string }, context: CommandContext) {
      return run({ type: 'DeleteKnowledgeBase', ...input }, context);
    },
  };
}

export type KnowledgeBaseCommands = ReturnType<typeof createKnowledgeBaseCommands>;

/** Throws NOT_FOUND unless the knowledge base exists, is not deleted and belongs to `ownerId`. */
export async function requireOwnKnowledgeBase(store: EventStore, knowledgeBaseId: string, ownerId: string): Promise<void> {
  checkId(knowledgeBaseId, 'Knowledge base id');
  const { state } = await loadAggregate(store, knowledgeBaseDecider, knowledgeBaseStream(knowledgeBaseId));
  if (state.status !== 'active' || state.ownerId !== ownerId) throw new DomainError('NOT_FOUND', 'Knowledge base not found');
}
