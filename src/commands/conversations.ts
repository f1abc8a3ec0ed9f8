import { conversationDecider, conversationStream, type ConversationCommand, type ModelParams } from '../domain/conversation/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, loadAggregate } from './execute-command.ts';

/** What conversation commands need to know about the AI providers. */
export interface ModelCatalog {
  readonly isConfigured: boolean;
  /** Throws (MODEL_NOT_FOUND, PROVIDER_NOT_CONFIGURED, …) when no configured provider offers the model. */
  resolve(model: string): Promise<unknown>;
}

export interface ConversationCommandsDeps {
  store: EventStore;
  models: ModelCatalog;
  defaultModel: string | undefined;
  /** Errors that say no provider is configured; thrown before anything is appended. */
  providerNotConfigured(): Error;
}

export interface StartConversationInput {
  conversationId: string;
  ownerId: string;
  title?: string | null;
  model?: string | null;
  systemPrompt?: string | null;
  params?: ModelParams | null;
}

export function createConversationCommands({ store, models, defaultModel, providerNotConfigured }: ConversationCommandsDeps) {
  const run = (command: ConversationCommand, context: CommandContext) =>
    executeCommand(store, conversationDecider, conversationStream(command.conversationId), command, context);

  return {
    run,

    async start(input: StartConversationInput, context: CommandContext) {
      const model = input.model?.trim() || defaultModel;
      if (!model) throw new DomainError('BAD_USER_INPUT', 'Choose a model: none was given and no DEFAULT_MODEL is configured');
      // With providers configured, refuse models none of them offers; without any, sendMessage says so.
      if (models.isConfigured) await models.resolve(model);
      return run({
        type: 'StartConversation', conversationId: input.conversationId, ownerId: input.ownerId, title: input.title ?? '',
        model, systemPrompt: input.systemPrompt ?? null, params: input.params ?? null,
      }, context);
    },

    async sendMessage(input: { conversationId: string; actorId: string; content: string }, context: CommandContext) {
      if (!models.isConfigured) {
        // Ownership first, so a stranger learns nothing about the conversation from this error.
        const { state } = await loadAggregate(store, conversationDecider, conversationStream(input.conversationId));
        if (state.status !== 'active' || state.ownerId !== input.actorId) throw new DomainError('NOT_FOUND', 'Conversation not found');
        throw providerNotConfigured();
      }
      const messageId = context.newId();
      const result = await run({ type: 'SendUserMessage', ...input, messageId }, context);
      return { messageId, ...result };
    },
  };
}

export type ConversationCommands = ReturnType<typeof createConversationCommands>;
