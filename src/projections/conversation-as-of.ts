import {
  conversationDecider, conversationStream, pathIds, type ConversationEvent, type ConversationState,
} from '../domain/conversation/conversation.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { ConversationRow, MessageRow, MessageScope, PageQuery } from './conversations-queries.ts';

/**
 * Time travel: a conversation as it was at a moment, folded from its stream in the log (read through
 * the decrypting, upcasting store) — never from the read model, which only knows the present.
 *
 * The fold takes the stream's events up to the first one recorded after `asOf` (a prefix of the
 * stream, so the state is always one the conversation really had, even if clocks of several
 * instances disagreed a little), with the domain's own evolve, and builds the messages as the
 * conversations projection would have shown them then.
 */
export interface ConversationAsOf {
  conversation: ConversationRow;
  state: ConversationState;
  messages: MessageRow[];
}

const asOfMessages = new WeakMap<ConversationRow, { all: MessageRow[]; active: MessageRow[] }>();

/** The messages of a conversation row built by conversationAsOf (its active branch then, or all); undefined for a live read-model row. */
export function messagesAsOf(row: ConversationRow, scope: MessageScope = 'active'): MessageRow[] | undefined {
  return asOfMessages.get(row)?.[scope];
}

/** A page of folded messages, with the same keyset (seq) and order as messagePage. */
export function asOfMessagePage(messages: readonly MessageRow[], page: PageQuery<string>): MessageRow[] {
  const key = (value: string | null) => (value === null ? null : /^\d{1,19}$/.test(value) ? BigInt(value) : -1n);
  const after = key(page.after);
  const before = key(page.before);
  // A cursor that is no seq matches nothing, as in the read model.
  if (after === -1n || before === -1n) return [];
  const kept = messages.filter((m) => (after === null || BigInt(m.seq) > after) && (before === null || BigInt(m.seq) < before));
  return (page.inverted ? [...kept].reverse() : kept).slice(0, page.limit);
}

/**
 * Null when the conversation did not exist at `asOf`, or was deleted by then. `throughRevision` also
 * stops the fold after that stream revision (a share's snapshot: exactly what the owner saw).
 */
export async function conversationAsOf(
  store: EventStore, conversationId: string, asOf: Date, options: { throughRevision?: bigint } = {},
): Promise<ConversationAsOf | null> {
  const events = await store.readStream(conversationStream(conversationId));
  const limit = asOf.getTime();
  const through = options.throughRevision;
  const cut = events.findIndex((event) => Date.parse(event.metadata.occurredAt) > limit || (through !== undefined && event.revision > through));
  const prefix = cut === -1 ? events : events.slice(0, cut);
  if (prefix.length === 0) return null;
  let state = conversationDecider.initialState();
  const messages = new Map<string, MessageRow>();
  let createdAt = prefix[0]!.metadata.occurredAt;
  let updatedAt = createdAt;
  for (const recorded of prefix) {
    const event = { type: recorded.type, data: recorded.data } as ConversationEvent;
    state = conversationDecider.evolve(state, event);
    if (event.type === 'ConversationStarted' || event.type === 'ConversationImported') createdAt = recorded.metadata.occurredAt;
    if (event.type !== 'ConversationDeleted' && recorded.metadata.occurredAt > updatedAt) updatedAt = recorded.metadata.occurredAt;
    foldMessage(messages, recorded, event);
  }
  if (state.status !== 'active') return null;
  const title = erased(prefix, 'title', ['ConversationStarted', 'ConversationImported', 'ConversationRenamed']) ? null : state.title;
  const systemPrompt = erased(prefix, 'systemPrompt', ['ConversationStarted', 'ConversationSystemPromptChanged']) ? null : state.systemPrompt;
  const conversation: ConversationRow = {
    conversation_id: state.conversationId!, owner_id: state.ownerId!, title, model: state.model ?? '', system_prompt: systemPrompt,
    params: { ...state.params } as Record<string, number>, archived: state.archived, message_count: messages.size,
    knowledge_base_ids: [...state.knowledge.knowledgeBaseIds], document_ids: [...state.knowledge.documentIds],
    created_at: createdAt, updated_at: updatedAt,
    active_leaf_id: state.activeLeafId, pinned: state.pinned, tags: erased(prefix, 'tag', ['ConversationTagged']) ? [] : [...state.tags],
  };
  // The tree as the domain folded it: each message's parent, siblings and children.
  const roots = [...state.nodes.entries()].filter(([, node]) => node.parentId === null).map(([id]) => id);
  const list = [...messages.values()].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1)).map((row) => {
    const node = state.nodes.get(row.message_id);
    const parentId = node?.parentId ?? null;
    return {
      ...row, parent_id: parentId,
      sibling_ids: [...(parentId === null ? roots : state.nodes.get(parentId)?.children ?? [row.message_id])],
      child_ids: [...(node?.children ?? [])],
    };
  });
  const onPath = new Set(pathIds(state.nodes, state.activeLeafId));
  asOfMessages.set(conversation, { all: list, active: list.filter((m) => onPath.has(m.message_id)) });
  return { conversation, state, messages: list };
}

/** Whether the last event of `types` in the prefix (the one that set `field`) had it erased. */
function erased(prefix: readonly RecordedEvent[], field: string, types: readonly string[]): boolean {
  const last = prefix.findLast((event) => types.includes(event.type));
  return last?.erasedFields?.includes(field) ?? false;
}

const personal = (recorded: RecordedEvent, field: string, value: string): string | null =>
  (recorded.erasedFields?.includes(field) ? null : value);

/** The messages read model's rule for one event, in memory. */
function foldMessage(messages: Map<string, MessageRow>, recorded: RecordedEvent, event: ConversationEvent): void {
  const at = recorded.metadata.occurredAt;
  const seq = recorded.position.toString();
  const base = {
    in_reply_to: null, model: null, params: null, usage: null, time_to_first_token_ms: null, latency_ms: null, finish_reason: null,
    error_code: null, error_message: null, sources: [],
  };
  const finish = (replyId: string, fields: Partial<MessageRow>) => {
    const row = messages.get(replyId);
    if (row) messages.set(replyId, { ...row, completed_at: at, ...fields });
  };
  switch (event.type) {
    case 'UserMessageSent':
      messages.set(event.data.messageId, {
        ...base, message_id: event.data.messageId, conversation_id: event.data.conversationId, role: 'user',
        edited_message_id: event.data.editedMessageId ?? null,
        content: personal(recorded, 'content', event.data.content), status: 'complete', created_at: at, completed_at: at, seq,
      });
      return;
    case 'ConversationMessageImported': {
      const d = event.data;
      messages.set(d.messageId, {
        ...base, message_id: d.messageId, conversation_id: d.conversationId, role: d.role, content: personal(recorded, 'content', d.content),
        status: 'complete', model: d.model, created_at: d.createdAt ?? at, completed_at: d.createdAt ?? at, seq,
      });
      return;
    }
    case 'AssistantReplyStarted':
      messages.set(event.data.replyId, {
        ...base, message_id: event.data.replyId, conversation_id: event.data.conversationId, role: 'assistant', content: '',
        status: 'streaming', in_reply_to: event.data.inReplyTo, model: event.data.model, params: { ...event.data.params } as Record<string, number>,
        created_at: at, completed_at: null, seq,
      });
      return;
    case 'AssistantReplyCompleted': {
      const d = event.data;
      finish(d.replyId, {
        status: 'complete', content: personal(recorded, 'text', d.text), model: d.model, params: { ...d.params } as Record<string, number>,
        usage: d.usage, time_to_first_token_ms: d.timeToFirstTokenMs, latency_ms: d.latencyMs, finish_reason: d.finishReason,
        sources: Array.isArray(d.sources) ? d.sources : [],
      });
      return;
    }
    case 'AssistantReplyCancelled':
      finish(event.data.replyId, { status: 'cancelled', content: personal(recorded, 'partialText', event.data.partialText), latency_ms: event.data.latencyMs });
      return;
    case 'AssistantReplyFailed':
      finish(event.data.replyId, {
        status: 'failed', content: personal(recorded, 'partialText', event.data.partialText), latency_ms: event.data.latencyMs,
        error_code: event.data.errorCode, error_message: event.data.errorMessage,
      });
      return;
    case 'AssistantReplyInterrupted':
      finish(event.data.replyId, { status: 'interrupted', content: personal(recorded, 'partialText', event.data.partialText) });
      return;
    default:
      return;
  }
}
