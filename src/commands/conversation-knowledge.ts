import { conversationDecider, conversationStream, normalizeKnowledgeSelection } from '../domain/conversation/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { requireOwnDocument } from './documents.ts';
import { executeCommand, loadAggregate } from './execute-command.ts';
import { requireOwnKnowledgeBase } from './knowledge-bases.ts';

export interface SetConversationKnowledgeInput {
  conversationId: string;
  ownerId: string;
  knowledgeBaseIds: readonly string[];
  documentIds: readonly string[];
}

/**
 * Replaces the knowledge attached to a conversation. The lists are checked against their limits
 * before any stream is read (a hostile list cannot make it read thousands), then the conversation's
 * ownership, then each referenced base and document: all must exist and be the owner's, NOT_FOUND
 * otherwise. One deleted between this check and the append stays listed; retrieval skips it.
 */
export function createConversationKnowledgeCommands({ store }: { store: EventStore }) {
  return {
    setConversationKnowledge: (input: SetConversationKnowledgeInput, context: CommandContext) => setKnowledge(store, input, context),
  };
}

export type ConversationKnowledgeCommands = ReturnType<typeof createConversationKnowledgeCommands>;

async function setKnowledge(store: EventStore, input: SetConversationKnowledgeInput, context: CommandContext) {
  const selection = normalizeKnowledgeSelection(input);
  const stream = conversationStream(input.conversationId);
  const { state } = await loadAggregate(store, conversationDecider, stream);
  if (state.status !== 'active' || state.ownerId !== input.ownerId) throw new DomainError('NOT_FOUND', 'Conversation not found');
  for (const knowledgeBaseId of selection.knowledgeBaseIds) await requireOwnKnowledgeBase(store, knowledgeBaseId, input.ownerId);
  for (const documentId of selection.documentIds) await requireOwnDocument(store, documentId, input.ownerId);
  return executeCommand(store, conversationDecider, stream, {
    type: 'SetConversationKnowledge', conversationId: input.conversationId, actorId: input.ownerId, ...selection,
  }, context);
}
