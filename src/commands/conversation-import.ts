import { conversationDecider, conversationStream, type ConversationState, type ImportFormat } from '../domain/conversation/conversation.ts';
import { parseImport } from '../domain/conversation/import-formats.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand } from './execute-command.ts';

/**
 * Imports the conversations of an export file as new conversations of `ownerId`, one stream each
 * (ConversationImported + its ConversationMessageImported events in one append). The whole file is
 * parsed and checked before anything is recorded, so a malformed file records nothing; a failure
 * while appending (the store is gone) leaves the conversations imported so far.
 */
export async function importConversations(
  deps: { store: EventStore; defaultModel: string | undefined },
  input: { ownerId: string; format: ImportFormat; text: string },
  context: CommandContext,
): Promise<{ conversations: Array<{ conversationId: string; state: ConversationState }>; skipped: number; position: bigint | null }> {
  const parsed = parseImport(input.format, input.text);
  const commands = parsed.conversations.map((conversation) => ({
    type: 'ImportConversation' as const, conversationId: context.newId(), ownerId: input.ownerId, format: input.format,
    title: conversation.title,
    // The model replies continue with: the configured default, else the one the source used last.
    model: deps.defaultModel ?? conversation.messages.findLast((m) => m.model !== null)?.model ?? 'imported',
    messages: conversation.messages.map((m) => ({ ...m, messageId: context.newId() })),
  }));
  // Decided in memory first: a message the domain refuses fails the file before the first append.
  for (const command of commands) conversationDecider.decide(command, conversationDecider.initialState());
  let position: bigint | null = null;
  const conversations: Array<{ conversationId: string; state: ConversationState }> = [];
  for (const command of commands) {
    const result = await executeCommand(deps.store, conversationDecider, conversationStream(command.conversationId), command, context);
    position = result.position ?? position;
    conversations.push({ conversationId: command.conversationId, state: result.state });
  }
  return { conversations, skipped: parsed.skipped, position };
}

/**
 * The earlier turns of an OpenAI-compatible call (/v1/chat/completions), recorded as a new
 * conversation of `ownerId` that the call's last user message then continues: the conversation the
 * caller's tool kept is in the log as it was handed in (format `openai-api`), and the reply is
 * generated from it like any other.
 */
export async function importCallHistory(
  deps: { store: EventStore },
  input: { conversationId: string; ownerId: string; title: string; model: string; turns: ReadonlyArray<{ role: 'user' | 'assistant'; content: string }> },
  context: CommandContext,
): Promise<{ state: ConversationState; position: bigint | null }> {
  const command = {
    type: 'ImportConversation' as const, conversationId: input.conversationId, ownerId: input.ownerId, format: 'openai-api' as const,
    title: input.title, model: input.model,
    messages: input.turns.map((turn) => ({ messageId: context.newId(), role: turn.role, content: turn.content, createdAt: null, model: null })),
  };
  const result = await executeCommand(deps.store, conversationDecider, conversationStream(input.conversationId), command, context);
  return { state: result.state, position: result.position ?? null };
}
