import { conversationDecider, conversationStream, type ConversationCommand, type ModelParams } from '../domain/conversation/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import { checkText } from '../domain/text.ts';
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
  /** Asks whichever instance generates the reply to stop it (it records the cancellation with the text so far). */
  requestCancel(replyId: string, by: { actorId: string; requestId: string | null }): void;
  cancelTimeoutMs?: number;
  /** Refuses (QUOTA_EXCEEDED) when the person's daily token quota is used up; checked before a reply is asked for. */
  checkQuota?(userId: string, now: Date): Promise<void>;
}

export interface StartConversationInput {
  conversationId: string;
  ownerId: string;
  title?: string | null;
  model?: string | null;
  systemPrompt?: string | null;
  params?: ModelParams | null;
}

export function createConversationCommands(deps: ConversationCommandsDeps) {
  const { store, models, defaultModel, providerNotConfigured } = deps;
  const run = (command: ConversationCommand, context: CommandContext) =>
    executeCommand(store, conversationDecider, conversationStream(command.conversationId), command, context);

  return {
    run,

    async start(input: StartConversationInput, context: CommandContext) {
      const model = (input.model === null || input.model === undefined ? '' : checkText(input.model, 'Model', 'single-line')).trim() || defaultModel;
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
      await deps.checkQuota?.(input.actorId, context.now());
      const messageId = context.newId();
      const result = await run({ type: 'SendUserMessage', ...input, messageId }, context);
      return { messageId, ...result };
    },

    /**
     * Stops a reply being generated. The generating instance records the cancellation with the
     * partial text; if none does within the timeout (it died), the cancellation is recorded here and
     * returned, so the caller can announce it. Null when the generating instance recorded it, or the
     * reply had already finished.
     */
    async cancelReply(input: { conversationId: string; replyId: string; actorId: string }, context: CommandContext) {
      const stream = conversationStream(input.conversationId);
      const activeReply = async () => (await loadAggregate(store, conversationDecider, stream)).state.activeReply?.replyId;
      const { state } = await loadAggregate(store, conversationDecider, stream);
      if (state.status !== 'active' || state.ownerId !== input.actorId || !state.replies.has(input.replyId)) {
        throw new DomainError('NOT_FOUND', 'Reply not found');
      }
      if (state.activeReply?.replyId !== input.replyId) return null;
      deps.requestCancel(input.replyId, { actorId: input.actorId, requestId: context.requestId });
      const deadline = Date.now() + (deps.cancelTimeoutMs ?? 3_000);
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        if ((await activeReply()) !== input.replyId) return null;
      }
      return run({ type: 'CancelAssistantReply', ...input, partialText: '', latencyMs: 0 }, context);
    },
  };
}

export type ConversationCommands = ReturnType<typeof createConversationCommands>;
