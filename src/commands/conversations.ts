import {
  conversationDecider, conversationStream, type ConversationCommand, type ConversationEvent, type ConversationState, type ModelParams,
} from '../domain/conversation/conversation.ts';
import { DomainError, type Decider } from '../domain/decider.ts';
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

  /** NOT_FOUND unless the actor owns the conversation (checked before anything that would tell more). */
  const requireOwner = async (input: { conversationId: string; actorId: string }) => {
    const { state } = await loadAggregate(store, conversationDecider, conversationStream(input.conversationId));
    if (state.status !== 'active' || state.ownerId !== input.actorId) throw new DomainError('NOT_FOUND', 'Conversation not found');
    return state;
  };
  const requireProvider = async (input: { conversationId: string; actorId: string }) => {
    if (models.isConfigured) return;
    await requireOwner(input);
    throw providerNotConfigured();
  };
  /** Several commands on one conversation as one append (decided in order on the evolving state). */
  const runAll = (commands: readonly ConversationCommand[], context: CommandContext) => {
    const combined: Decider<readonly ConversationCommand[], ConversationState, ConversationEvent> = {
      ...conversationDecider,
      decide(list, state) {
        const events: ConversationEvent[] = [];
        let current = state;
        for (const command of list) {
          const decided = conversationDecider.decide(command, current);
          events.push(...decided);
          current = decided.reduce(conversationDecider.evolve, current);
        }
        return events;
      },
    };
    return executeCommand(store, combined, conversationStream(commands[0]!.conversationId), commands, context);
  };

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

    /** A new user message beside `messageId` (an edit: a new branch); the reply reactor answers it. */
    async editMessage(input: { conversationId: string; actorId: string; messageId: string; content: string }, context: CommandContext) {
      await requireProvider(input);
      await deps.checkQuota?.(input.actorId, context.now());
      const newMessageId = context.newId();
      const result = await run({ type: 'EditUserMessage', ...input, newMessageId }, context);
      return { messageId: newMessageId, ...result };
    },

    /** Another reply to the user message of `messageId` (a new branch); the reply reactor generates it under the returned id. */
    async regenerateReply(input: { conversationId: string; actorId: string; messageId: string }, context: CommandContext) {
      await requireProvider(input);
      await deps.checkQuota?.(input.actorId, context.now());
      const replyId = context.newId();
      const result = await run({ type: 'RegenerateReply', ...input, replyId }, context);
      const requested = result.events.find((e) => e.type === 'ReplyRegenerationRequested')?.data as { messageId: string } | undefined;
      return { replyId, messageId: requested?.messageId ?? input.messageId, ...result };
    },

    /**
     * Changes what later replies use; each part left undefined stays as it is. A model must be
     * offered by a configured provider. One append: all the changes, or none.
     */
    async changeSettings(
      input: { conversationId: string; actorId: string; model?: string; params?: ModelParams | null; systemPrompt?: string | null },
      context: CommandContext,
    ) {
      const { conversationId, actorId } = input;
      const commands: ConversationCommand[] = [];
      if (input.model !== undefined) {
        const model = checkText(input.model, 'Model', 'single-line').trim();
        if (models.isConfigured && model.length > 0) {
          await requireOwner(input);
          await models.resolve(model);
        }
        commands.push({ type: 'ChangeConversationModel', conversationId, actorId, model });
      }
      if (input.params !== undefined) commands.push({ type: 'ChangeConversationParameters', conversationId, actorId, params: input.params });
      if (input.systemPrompt !== undefined) {
        commands.push({ type: 'ChangeConversationSystemPrompt', conversationId, actorId, systemPrompt: input.systemPrompt });
      }
      if (commands.length === 0) return { events: [] as ConversationEvent[], state: await requireOwner(input), position: null };
      return runAll(commands, context);
    },

    /**
     * Stops a reply being generated. The generating instance records the cancellation with the
     * partial text; if none does within the timeout (it died), the cancellation is recorded here.
     * `recordedHere` is the result when it was recorded here (the caller announces it); `ended` is
     * where the event that ended the reply sits in the log, whoever recorded it, for read-your-writes
     * (the log's head is no substitute: on PostgreSQL it can trail a just-committed event), also when
     * the reply had already finished.
     */
    async cancelReply(input: { conversationId: string; replyId: string; actorId: string }, context: CommandContext) {
      const stream = conversationStream(input.conversationId);
      const load = async () => {
        const { state, recorded } = await loadAggregate(store, conversationDecider, stream);
        const last = recorded.findLast((r) => (r.data as { replyId?: unknown } | null)?.replyId === input.replyId);
        return { state, ended: last ? { position: last.position, events: [{ type: last.type }] } : null };
      };
      const first = await load();
      if (first.state.status !== 'active' || first.state.ownerId !== input.actorId || !first.state.replies.has(input.replyId)) {
        throw new DomainError('NOT_FOUND', 'Reply not found');
      }
      if (first.state.activeReply?.replyId !== input.replyId) return { recordedHere: null, ended: first.ended };
      deps.requestCancel(input.replyId, { actorId: input.actorId, requestId: context.requestId });
      const deadline = Date.now() + (deps.cancelTimeoutMs ?? 3_000);
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const now = await load();
        if (now.state.activeReply?.replyId !== input.replyId) return { recordedHere: null, ended: now.ended };
      }
      const result = await run({ type: 'CancelAssistantReply', ...input, partialText: '', latencyMs: 0 }, context);
      return { recordedHere: result, ended: { position: result.position, events: result.events } };
    },
  };
}

export type ConversationCommands = ReturnType<typeof createConversationCommands>;
