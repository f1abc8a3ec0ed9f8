import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { z } from 'zod';
import {
  MAX_ATTACHED_DOCUMENTS, MAX_ATTACHED_KNOWLEDGE_BASES, MAX_MESSAGE_LENGTH, MAX_MODEL_LENGTH, MAX_SYSTEM_PROMPT_LENGTH, MAX_TAG_LENGTH, MAX_TITLE_LENGTH,
} from '../../domain/conversation/conversation.ts';
import { builder } from '../builder.ts';
import { ModelParameters } from './model-parameters.ts';
import { ReplyProvenance } from './reply-provenance.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import type { ConversationState } from '../../domain/conversation/conversation.ts';
import { decodeFeedCursor, FeedTracker, missedItems, TERMINAL_KINDS, type FeedItem } from '../conversation-feed.ts';
import { announceToConversation, isPending, settle } from '../settle.ts';
import {
  conversationPage, messagePage, ownedConversation, ownedMessage, type ConversationRow, type MessageRow, type MessageSourceRow,
} from '../../projections/conversations-queries.ts';
import { asOfMessagePage, messagesAsOf } from '../../projections/conversation-as-of.ts';
import { ownConversationAsOf } from './time-travel.ts';
import { requireViewer, User } from './accounts.ts';
import { checkPageArgs, decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor, MAX_PAGE_SIZE } from './pagination.ts';

/** The viewer's own conversation, or NOT_FOUND (also for someone else's: existence is not revealed). */
export async function ownConversation(context: GraphQLContext, conversationId: string): Promise<ConversationRow> {
  const row = await ownedConversation(context.services.readDb, requireViewer(context).userId, conversationId);
  if (!row) throw clientError('NOT_FOUND', 'Conversation not found');
  return row;
}

/** The conversation as the write side knows it, for a mutation whose read model is not caught up (flagged pending). */
function conversationFromState(state: ConversationState, at: string): ConversationRow {
  return {
    conversation_id: state.conversationId!, owner_id: state.ownerId!, title: state.title, model: state.model ?? '',
    system_prompt: state.systemPrompt, params: { ...state.params }, archived: state.archived,
    message_count: state.userMessages.size + state.replies.size, created_at: at, updated_at: at,
    knowledge_base_ids: [...state.knowledge.knowledgeBaseIds], document_ids: [...state.knowledge.documentIds],
    active_leaf_id: state.activeLeafId, pinned: state.pinned, tags: [...state.tags],
  };
}

/** The viewer's conversation after a write: the read model when it shows the write, else the write side's view. */
export async function conversationAfterWrite(context: GraphQLContext, conversationId: string, state: ConversationState): Promise<ConversationRow> {
  const row = await ownedConversation(context.services.readDb, requireViewer(context).userId, conversationId);
  if (row) return row;
  if (!isPending(context)) throw clientError('NOT_FOUND', 'Conversation not found');
  return conversationFromState(state, new Date().toISOString());
}

export function messageById(context: GraphQLContext, messageId: string): Promise<MessageRow | null> {
  return ownedMessage(context.services.readDb, requireViewer(context).userId, messageId);
}

export const ModelParametersInput = builder.inputType('ModelParametersInput', {
  fields: (t) => ({
    temperature: t.float({ required: false, validate: z.number().min(0, 'must be at least 0').max(2, 'must be at most 2') }),
    topP: t.float({ required: false, validate: z.number().min(0, 'must be at least 0').max(1, 'must be at most 1') }),
    maxTokens: t.int({ required: false, validate: z.number().int().min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000') }),
  }),
});

const TokenUsage = builder.objectRef<NonNullable<MessageRow['usage']>>('TokenUsage').implement({
  fields: (t) => ({
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    totalTokens: t.exposeInt('totalTokens'),
  }),
});

const MessageScope = builder.enumType('MessageScope', {
  description: 'Which messages of the message tree a list holds',
  values: { ACTIVE_BRANCH: { description: 'The path from the first message to the active leaf' }, ALL: { description: 'Every branch' } } as const,
});

export const MessageRole = builder.enumType('MessageRole', { values: ['USER', 'ASSISTANT'] as const });
const MessageStatus = builder.enumType('MessageStatus', {
  values: ['COMPLETE', 'STREAMING', 'CANCELLED', 'FAILED', 'INTERRUPTED'] as const,
});

const MessageSource = builder.objectRef<MessageSourceRow>('MessageSource').implement({
  description: 'A retrieved passage the reply was given as [n]: which chunk of which document version',
  fields: (t) => ({
    n: t.exposeInt('n', { description: 'The number the reply cites it by, as [n]' }),
    documentId: t.exposeID('documentId'),
    documentVersion: t.exposeInt('version', { description: 'The document version the passage was taken from' }),
    chunkId: t.exposeID('chunkId'),
    page: t.int({ nullable: true, description: '1-based page where the passage starts, when the format has pages', resolve: (s) => s.page ?? null }),
    score: t.exposeFloat('score', { description: 'Its retrieval rank score (higher is better; comparable within one reply only)' }),
  }),
});

export const Message = builder.objectRef<MessageRow>('Message').implement({
  fields: (t) => ({
    id: t.exposeID('message_id'),
    conversationId: t.exposeID('conversation_id'),
    role: t.field({ type: MessageRole, resolve: (m) => (m.role === 'user' ? 'USER' : 'ASSISTANT') }),
    content: t.string({ nullable: true, description: 'Null when erased; partial text for cancelled, failed and interrupted replies', resolve: (m) => m.content }),
    status: t.field({ type: MessageStatus, resolve: (m) => m.status.toUpperCase() as 'COMPLETE' }),
    inReplyTo: t.id({ nullable: true, resolve: (m) => m.in_reply_to }),
    model: t.string({ nullable: true, resolve: (m) => m.model }),
    parameters: t.field({ type: ModelParameters, nullable: true, resolve: (m) => m.params }),
    usage: t.field({ type: TokenUsage, nullable: true, resolve: (m) => m.usage }),
    timeToFirstTokenMs: t.int({ nullable: true, resolve: (m) => m.time_to_first_token_ms }),
    latencyMs: t.int({ nullable: true, resolve: (m) => m.latency_ms }),
    finishReason: t.string({ nullable: true, resolve: (m) => m.finish_reason }),
    errorCode: t.string({ nullable: true, resolve: (m) => m.error_code }),
    errorMessage: t.string({ nullable: true, resolve: (m) => m.error_message }),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.created_at }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (m) => m.completed_at }),
    sources: t.field({
      type: [MessageSource],
      description: 'The sources the reply was given, cited in its text as [n]; empty for user messages and replies without knowledge',
      resolve: (m) => m.sources ?? [],
    }),
    provenance: t.field({
      type: ReplyProvenance, nullable: true,
      description: 'For finished replies: model, parameters, prompt hashes, the messages answered, sources; null for user messages and older replies',
      resolve: (m) => m.provenance ?? null,
    }),
    parentId: t.id({
      nullable: true,
      description: 'The message this one follows in the message tree (a reply: the message it answers); null for a first message',
      resolve: (m) => m.parent_id ?? (m.role === 'assistant' ? m.in_reply_to : null),
    }),
    editOf: t.id({ nullable: true, description: 'For an edit: the message it revises (its sibling)', resolve: (m) => m.edited_message_id ?? null }),
    siblingIds: t.idList({
      description: 'The messages sharing its parent (itself among them), oldest first: the branches a client shows as "< 2/3 >"',
      resolve: (m) => m.sibling_ids ?? [m.message_id],
    }),
    siblingIndex: t.int({
      description: 'Its 0-based place among siblingIds',
      resolve: (m) => Math.max(0, (m.sibling_ids ?? [m.message_id]).indexOf(m.message_id)),
    }),
    siblingCount: t.int({ resolve: (m) => (m.sibling_ids ?? [m.message_id]).length }),
    childIds: t.idList({ description: 'The messages following this one (replies, or next messages), oldest first', resolve: (m) => m.child_ids ?? [] }),
  }),
});

export const Conversation = builder.objectRef<ConversationRow>('Conversation').implement({
  fields: (t) => ({
    id: t.exposeID('conversation_id'),
    title: t.string({ nullable: true, description: 'Null when erased', resolve: (c) => c.title }),
    model: t.exposeString('model'),
    systemPrompt: t.string({ nullable: true, resolve: (c) => c.system_prompt }),
    parameters: t.field({ type: ModelParameters, resolve: (c) => c.params ?? {} }),
    archived: t.exposeBoolean('archived'),
    knowledgeBaseIds: t.idList({ description: 'Knowledge bases the replies retrieve sources from', resolve: (c) => c.knowledge_base_ids ?? [] }),
    documentIds: t.idList({ description: 'Single documents the replies retrieve sources from', resolve: (c) => c.document_ids ?? [] }),
    messageCount: t.exposeInt('message_count'),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.created_at }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updated_at }),
    owner: t.field({ type: User, resolve: (c) => c.owner_id }),
    pinned: t.boolean({ resolve: (c) => c.pinned ?? false }),
    tags: t.stringList({ description: 'Your tags, as you spelled them, oldest first', resolve: (c) => c.tags ?? [] }),
    activeLeafId: t.id({
      nullable: true, description: 'The last message of the active branch (what `messages` shows and the next reply continues)',
      resolve: (c) => c.active_leaf_id ?? null,
    }),
    messages: t.connection({
      type: Message,
      description: `Oldest first; at most ${MAX_PAGE_SIZE} per page. By default the active branch (root to activeLeafId); scope ALL: every branch`,
      args: { scope: t.arg({ type: MessageScope, required: false, description: 'ACTIVE_BRANCH (default) or ALL (the whole message tree)' }) },
      resolve: (conversation, args, context) => {
        checkPageArgs(args);
        const scope = args.scope === 'ALL' ? 'all' : 'active';
        return resolveCursorConnection(
          { args, toCursor: (m: MessageRow) => encodeCursor([m.seq]), defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
          ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => {
            const page = { after: after ? decodeCursor(after, 1)[0]! : null, before: before ? decodeCursor(before, 1)[0]! : null, limit, inverted };
            const asOf = messagesAsOf(conversation, scope);
            return asOf ? asOfMessagePage(asOf, page) : messagePage(context.services.readDb, conversation.conversation_id, page, scope);
          },
        );
      },
    }),
  }),
});

builder.queryFields((t) => ({
  conversations: t.connection({
    type: Conversation,
    description: `Your conversations, pinned first, then newest first; at most ${MAX_PAGE_SIZE} per page`,
    authScopes: { authenticated: true },
    args: {
      archived: t.arg.boolean({ required: false, description: 'true: only archived; false (default): only active' }),
      pinned: t.arg.boolean({ required: false, description: 'true: only pinned; false: only unpinned; absent: both' }),
      tag: t.arg.string({ required: false, description: 'Only those with this tag (case-insensitive)', validate: z.string().max(MAX_TAG_LENGTH * 4, 'is too long') }),
    },
    resolve: (_root, args, context) => {
      checkPageArgs(args);
      const viewer = requireViewer(context);
      const key = (cursor: string): [boolean, string, string] => {
        const [pinned, createdAt, id] = decodeCursor(cursor, 3) as [string, string, string];
        if ((pinned !== '1' && pinned !== '0') || Number.isNaN(Date.parse(createdAt))) throw clientError('BAD_USER_INPUT', 'Invalid cursor');
        return [pinned === '1', createdAt, id];
      };
      return resolveCursorConnection(
        {
          args, toCursor: (c: ConversationRow) => encodeCursor([c.pinned ? '1' : '0', c.created_at, c.conversation_id]),
          defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE,
        },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => conversationPage(context.services.readDb, viewer.userId, {
          archived: args.archived ?? false, pinned: args.pinned ?? null, tag: args.tag ?? null,
        }, { after: after ? key(after) : null, before: before ? key(before) : null, limit, inverted }),
      );
    },
  }),
  conversation: t.field({
    type: Conversation,
    authScopes: { authenticated: true },
    args: {
      id: t.arg.id(),
      asOf: t.arg({ type: 'DateTime', required: false, description: 'The conversation as it was at this moment, folded from the log (see docs/audit.md)' }),
    },
    resolve: (_root, args, context) => (args.asOf ? ownConversationAsOf(context, String(args.id), args.asOf) : ownConversation(context, String(args.id))),
  }),
}));

const title = z.string().max(MAX_TITLE_LENGTH, `must be at most ${MAX_TITLE_LENGTH} characters`);

const StartConversationInput = builder.inputType('StartConversationInput', {
  fields: (t) => ({
    title: t.string({ required: false, validate: title }),
    model: t.string({ required: false, description: 'Defaults to DEFAULT_MODEL', validate: z.string().max(MAX_MODEL_LENGTH, `must be at most ${MAX_MODEL_LENGTH} characters`) }),
    systemPrompt: t.string({ required: false, validate: z.string().max(MAX_SYSTEM_PROMPT_LENGTH, `must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters`) }),
    parameters: t.field({ type: ModelParametersInput, required: false }),
  }),
});

/** Runs a conversation command as the viewer, waits for the read model, and returns the conversation. */
async function changeConversation(
  context: GraphQLContext, conversationId: string,
  command: (actorId: string) => Parameters<GraphQLContext['services']['conversations']['run']>[0],
) {
  const viewer = requireViewer(context);
  const result = await context.services.conversations.run(command(viewer.userId),
    context.services.commandContext(viewer.userId, context.requestId));
  await settle(context, result);
  return conversationAfterWrite(context, conversationId, result.state);
}

builder.mutationFields((t) => ({
  startConversation: t.field({
    type: Conversation,
    authScopes: { authenticated: true },
    args: { input: t.arg({ type: StartConversationInput, required: false }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const command = context.services.commandContext(viewer.userId, context.requestId);
      const conversationId = command.newId();
      const { parameters, ...rest } = args.input ?? {};
      const params = Object.fromEntries(Object.entries(parameters ?? {}).filter(([, value]) => value !== null && value !== undefined));
      const result = await context.services.conversations.start({ conversationId, ownerId: viewer.userId, ...rest, params }, command);
      await settle(context, result);
      return conversationAfterWrite(context, conversationId, result.state);
    },
  }),
  renameConversation: t.field({
    type: Conversation,
    authScopes: { authenticated: true },
    args: { id: t.arg.id(), title: t.arg.string({ validate: title }) },
    resolve: (_root, args, context) => changeConversation(context, String(args.id),
      (actorId) => ({ type: 'RenameConversation', conversationId: String(args.id), actorId, title: args.title })),
  }),
  archiveConversation: t.field({
    type: Conversation,
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: (_root, args, context) => changeConversation(context, String(args.id),
      (actorId) => ({ type: 'ArchiveConversation', conversationId: String(args.id), actorId })),
  }),
  unarchiveConversation: t.field({
    type: Conversation,
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: (_root, args, context) => changeConversation(context, String(args.id),
      (actorId) => ({ type: 'UnarchiveConversation', conversationId: String(args.id), actorId })),
  }),
  deleteConversation: t.id({
    description: 'Returns the id of the deleted conversation',
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.id);
      const result = await context.services.conversations.run({ type: 'DeleteConversation', conversationId, actorId: viewer.userId },
        context.services.commandContext(viewer.userId, context.requestId));
      await Promise.all([settle(context, result), announceToConversation(context.services, conversationId, result.position, { kind: 'CONVERSATION_DELETED' })]);
      return conversationId;
    },
  }),
  setConversationKnowledge: t.field({
    type: Conversation,
    description: 'Replaces what the replies of your conversation retrieve sources from (the whole selection; two empty lists detach everything). '
      + 'Every base and document must be yours.',
    authScopes: { authenticated: true },
    args: {
      conversationId: t.arg.id(),
      knowledgeBaseIds: t.arg.idList({
        validate: z.array(z.unknown()).max(MAX_ATTACHED_KNOWLEDGE_BASES, `must hold at most ${MAX_ATTACHED_KNOWLEDGE_BASES} ids`),
      }),
      documentIds: t.arg.idList({ validate: z.array(z.unknown()).max(MAX_ATTACHED_DOCUMENTS, `must hold at most ${MAX_ATTACHED_DOCUMENTS} ids`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const result = await context.services.conversationKnowledge.setConversationKnowledge({
        conversationId, ownerId: viewer.userId, knowledgeBaseIds: args.knowledgeBaseIds.map(String), documentIds: args.documentIds.map(String),
      }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return conversationAfterWrite(context, conversationId, result.state);
    },
  }),
  sendMessage: t.field({
    type: Message,
    description: 'Adds your message; the assistant reply streams to conversationEvents subscribers',
    authScopes: { authenticated: true },
    args: {
      conversationId: t.arg.id(),
      content: t.arg.string({ validate: z.string().max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const result = await context.services.conversations.sendMessage({ conversationId, actorId: viewer.userId, content: args.content },
        context.services.commandContext(viewer.userId, context.requestId));
      await Promise.all([settle(context, result),
        announceToConversation(context.services, conversationId, result.position, { kind: 'MESSAGE_ADDED', messageId: result.messageId })]);
      const message = await messageById(context, result.messageId);
      if (message) return message;
      if (!isPending(context)) throw clientError('NOT_FOUND', 'Message not found');
      const at = new Date().toISOString();
      return {
        message_id: result.messageId, conversation_id: conversationId, role: 'user', content: args.content, status: 'complete',
        in_reply_to: null, model: null, params: null, usage: null, time_to_first_token_ms: null, latency_ms: null, finish_reason: null,
        error_code: null, error_message: null, created_at: at, completed_at: at, seq: (result.position ?? 0n).toString(), sources: [],
      } satisfies MessageRow;
    },
  }),
  cancelReply: t.field({
    type: Message,
    description: 'Stops a reply that is being generated; it is kept as cancelled with the text so far',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id(), replyId: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const replyId = String(args.replyId);
      const { recordedHere, ended } = await context.services.conversations.cancelReply({ conversationId, replyId, actorId: viewer.userId },
        context.services.commandContext(viewer.userId, context.requestId));
      // Whoever recorded how the reply ended (usually the generating instance): wait until the conversations read model shows it.
      if (ended) await settle(context, ended);
      if (recordedHere) {
        context.services.pubsub.publish('conversation', conversationId,
          { kind: 'REPLY_CANCELLED', replyId, messageId: replyId, position: recordedHere.position?.toString() });
      }
      const message = await messageById(context, replyId);
      if (!message) throw clientError('NOT_FOUND', 'Reply not found');
      return message;
    },
  }),
}));

const ConversationEventKind = builder.enumType('ConversationEventKind', {
  values: ['MESSAGE_ADDED', 'REPLY_STARTED', 'DELTA', 'REPLY_COMPLETED', 'REPLY_CANCELLED', 'REPLY_FAILED', 'REPLY_INTERRUPTED', 'CONVERSATION_DELETED',
    'BRANCH_SWITCHED'] as const,
});

type DeliveredItem = FeedItem & { cursor: string };

/**
 * Every subscriber of a conversation (a thousand tabs, say) gets the same event and asks for the
 * same message: one read-model load serves them all, shared for a moment per viewer, message and
 * event (its cursor), instead of one query per subscriber.
 */
const SHARED_LOAD_MS = 2_000;
const SHARED_LOADS_MAX = 1_000;
const sharedLoads = new Map<string, { at: number; row: Promise<MessageRow | null> }>();

function feedMessage(context: GraphQLContext, item: DeliveredItem): Promise<MessageRow | null> {
  const key = `${requireViewer(context).userId}\u0000${item.messageId}\u0000${item.kind}\u0000${item.cursor}`;
  const now = Date.now();
  const shared = sharedLoads.get(key);
  if (shared && now - shared.at < SHARED_LOAD_MS) return shared.row;
  for (const [k, v] of sharedLoads) {
    if (sharedLoads.size < SHARED_LOADS_MAX && now - v.at < SHARED_LOAD_MS) break;
    sharedLoads.delete(k); // oldest first (insertion order)
  }
  const row = messageById(context, item.messageId!);
  sharedLoads.set(key, { at: now, row });
  row.catch(() => sharedLoads.delete(key)); // a failed load is not shared
  return row;
}

const ConversationEvent = builder.objectRef<DeliveredItem>('ConversationEvent').implement({
  description: 'Something that happened in a conversation. DELTA carries streamed reply text; the REPLY_* kinds end a reply; '
    + 'BRANCH_SWITCHED names the new active leaf as messageId.',
  fields: (t) => ({
    kind: t.field({ type: ConversationEventKind, resolve: (e) => e.kind as 'DELTA' }),
    conversationId: t.exposeID('conversationId'),
    messageId: t.id({ nullable: true, resolve: (e) => e.messageId ?? null }),
    replyId: t.id({ nullable: true, resolve: (e) => e.replyId ?? null }),
    delta: t.string({ nullable: true, description: 'Reply text added since the previous DELTA', resolve: (e) => e.delta ?? null }),
    offset: t.int({ nullable: true, description: 'Where the delta starts in the reply text', resolve: (e) => e.offset ?? null }),
    errorCode: t.string({ nullable: true, resolve: (e) => e.errorCode ?? null }),
    errorMessage: t.string({ nullable: true, resolve: (e) => e.errorMessage ?? null }),
    cursor: t.string({
      description: 'Pass as `after` when subscribing again (to any instance) to get what happened since, without repeats',
      resolve: (e) => e.cursor,
    }),
    message: t.field({
      type: Message,
      nullable: true,
      description: 'The message as stored, for every kind but DELTA and CONVERSATION_DELETED',
      resolve: (e, _args, context) => (e.messageId && e.kind !== 'DELTA' ? feedMessage(context, e) : null),
    }),
  }),
});

/**
 * A live item as delivered: one object for every subscriber at the same cursor, so that their
 * results can be shared (shared-subscription-events.ts). The pub/sub hands every local subscriber
 * the same payload object.
 */
const deliveries = new WeakMap<object, Map<string, DeliveredItem>>();
function sharedDelivery(payload: object, item: FeedItem, cursor: string): DeliveredItem {
  let byCursor = deliveries.get(payload);
  if (!byCursor) deliveries.set(payload, (byCursor = new Map()));
  let delivered = byCursor.get(cursor);
  if (!delivered) byCursor.set(cursor, (delivered = { ...item, cursor }));
  return delivered;
}

builder.subscriptionFields((t) => ({
  conversationEvents: t.field({
    type: ConversationEvent,
    description: 'Live events of one of your conversations: new messages, streamed reply deltas, finished replies. '
      + 'Resumable: with `after` (the `cursor` of the last event you got) you first get what you missed, including how a reply ended. '
      + 'Ends with UNAUTHENTICATED when your session ends.',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id(), after: t.arg.string({ required: false, validate: z.string().max(200, 'must be at most 200 characters') }) },
    subscribe: async function* (_root, args, context) {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const cursor = args.after ? decodeFeedCursor(args.after) : null;
      await ownConversation(context, conversationId);
      const watch = context.services.sessions.watch(viewer);
      const tracker = new FeedTracker(cursor);
      try {
        // Live first, so nothing published while the log is read is missed; the tracker drops repeats.
        const live = context.services.pubsub.subscribe('conversation', conversationId, { signal: watch.signal });
        if (cursor) {
          const { items, streamingReplyId, upTo } = await missedItems(context.services.store, conversationId, cursor.position);
          for (const item of items) {
            const accepted = tracker.accept(item);
            if (accepted) yield { ...accepted, cursor: tracker.cursor() };
            if (TERMINAL_KINDS.has(item.kind)) return;
          }
          tracker.replayed(upTo);
          // The instance generating a reply in progress sends its text so far; the tracker keeps what is new.
          if (streamingReplyId) context.services.pubsub.publish('replyControl', { replyId: streamingReplyId, action: 'resync' });
        }
        for await (const payload of live) {
          const item: FeedItem = { ...(payload as Omit<FeedItem, 'conversationId'>), conversationId };
          const accepted = tracker.accept(item);
          if (accepted) yield accepted === item ? sharedDelivery(payload, item, tracker.cursor()) : { ...accepted, cursor: tracker.cursor() };
          if (accepted && TERMINAL_KINDS.has(accepted.kind)) return;
        }
        if (watch.signal.aborted) {
          throw clientError('UNAUTHENTICATED', watch.signal.reason === 'expired' ? 'Your session expired; log in again' : 'Your session ended; log in again');
        }
      } finally {
        watch.release();
      }
    },
    resolve: (item) => item,
  }),
}));
