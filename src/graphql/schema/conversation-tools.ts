import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { z } from 'zod';
import {
  MAX_MESSAGE_LENGTH, MAX_MODEL_LENGTH, MAX_SYSTEM_PROMPT_LENGTH, MAX_TAG_LENGTH, type ConversationCommand,
} from '../../domain/conversation/conversation.ts';
import { textProblem } from '../../domain/text.ts';
import { searchConversations, type SearchHitRow } from '../../projections/conversations-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { announceToConversation, settle } from '../settle.ts';
import { replyIdFor } from '../../projections/reply-reactor.ts';
import { requireViewer } from './accounts.ts';
import { Conversation, conversationAfterWrite, Message, messageById, ModelParametersInput } from './conversations.ts';
import { checkPageArgs, decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor, MAX_PAGE_SIZE } from './pagination.ts';

/**
 * Conversation tools (issue 9): branches (regenerate, edit, switch), mid-way settings, pins, tags and
 * search. Every command goes through the conversation decider, which answers NOT_FOUND for anything
 * not the viewer's; every read is scoped to the viewer.
 */

const MAX_SEARCH_LENGTH = 500;
const tagArg = z.string().max(MAX_TAG_LENGTH * 4, `must be at most ${MAX_TAG_LENGTH} characters`);

interface BranchResult {
  conversationId: string;
  /** The user message the new branch holds (an edit), or the one being answered again (a regeneration). */
  messageId: string;
  /** The reply the reactor generates for it: derived for an edit, chosen for a regeneration. */
  replyId: string | null;
  state: Parameters<typeof conversationAfterWrite>[2];
}

const BranchPayload = builder.objectRef<BranchResult>('ConversationBranchPayload').implement({
  description: 'A new branch: the message it starts from, and the reply being generated (follow it with conversationEvents)',
  fields: (t) => ({
    conversation: t.field({ type: Conversation, resolve: (r, _args, context) => conversationAfterWrite(context, r.conversationId, r.state) }),
    message: t.field({
      type: Message, nullable: true, description: 'Null only while the read model is still catching up (the result is flagged pending)',
      resolve: (r, _args, context) => messageById(context, r.messageId),
    }),
    replyId: t.id({ nullable: true, resolve: (r) => r.replyId }),
  }),
});


/** Runs a conversation command as the viewer, waits for the read model, and returns the conversation. */
async function change(context: GraphQLContext, conversationId: string, command: (actorId: string) => ConversationCommand) {
  const viewer = requireViewer(context);
  const result = await context.services.conversations.run(command(viewer.userId), context.services.commandContext(viewer.userId, context.requestId));
  await settle(context, result);
  return conversationAfterWrite(context, conversationId, result.state);
}

const SettingsInput = builder.inputType('ConversationSettingsInput', {
  description: 'What later replies use; a field left out stays as it is. Each reply records what it used (Message.model, parameters, provenance).',
  fields: (t) => ({
    model: t.string({ required: false, validate: z.string().max(MAX_MODEL_LENGTH, `must be at most ${MAX_MODEL_LENGTH} characters`) }),
    parameters: t.field({ type: ModelParametersInput, required: false, description: 'The whole set: a parameter left out means the provider default' }),
    systemPrompt: t.string({
      required: false, description: 'An empty string removes it',
      validate: z.string().max(MAX_SYSTEM_PROMPT_LENGTH, `must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters`),
    }),
  }),
});

builder.mutationFields((t) => ({
  regenerateReply: t.field({
    type: BranchPayload,
    description: 'Another reply to a message, as a new branch beside the existing replies (which stay and can be switched back to). '
      + 'messageId: the reply to regenerate, or the user message to answer again.',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id(), messageId: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const result = await context.services.conversations.regenerateReply({ conversationId, actorId: viewer.userId, messageId: String(args.messageId) },
        context.services.commandContext(viewer.userId, context.requestId));
      // The reply reactor announces the reply (REPLY_STARTED) to conversationEvents subscribers.
      await settle(context, result);
      return { conversationId, messageId: result.messageId, replyId: result.replyId, state: result.state };
    },
  }),
  editMessage: t.field({
    type: BranchPayload,
    description: 'Edits one of your messages: the new text becomes a new branch beside the original (which stays), and gets a reply',
    authScopes: { authenticated: true },
    args: {
      conversationId: t.arg.id(), messageId: t.arg.id(),
      content: t.arg.string({ validate: z.string().max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.conversationId);
      const result = await context.services.conversations.editMessage(
        { conversationId, actorId: viewer.userId, messageId: String(args.messageId), content: args.content },
        context.services.commandContext(viewer.userId, context.requestId));
      await Promise.all([settle(context, result), result.position === null ? null
        : announceToConversation(context.services, conversationId, result.position, { kind: 'MESSAGE_ADDED', messageId: result.messageId })]);
      return { conversationId, messageId: result.messageId, replyId: replyIdFor(result.messageId), state: result.state };
    },
  }),
  switchBranch: t.field({
    type: Conversation,
    description: 'Shows the branch through messageId (e.g. a sibling from Message.siblingIds): the active branch then ends at its newest descendant',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id(), messageId: t.arg.id() },
    resolve: async (_root, args, context) => {
      const conversationId = String(args.conversationId);
      const viewer = requireViewer(context);
      const result = await context.services.conversations.run(
        { type: 'SwitchBranch', conversationId, actorId: viewer.userId, messageId: String(args.messageId) },
        context.services.commandContext(viewer.userId, context.requestId));
      const switched = result.events[0];
      await Promise.all([settle(context, result), switched?.type !== 'ConversationBranchSwitched' || result.position === null ? null
        : announceToConversation(context.services, conversationId, result.position, { kind: 'BRANCH_SWITCHED', messageId: switched.data.leafId })]);
      return conversationAfterWrite(context, conversationId, result.state);
    },
  }),
  updateConversationSettings: t.field({
    type: Conversation,
    description: 'Changes the model, parameters or system prompt for the replies that follow',
    authScopes: { authenticated: true },
    args: { id: t.arg.id(), input: t.arg({ type: SettingsInput }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = String(args.id);
      const { model, parameters, systemPrompt } = args.input;
      const params = parameters === null || parameters === undefined ? undefined
        : Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== null && value !== undefined));
      const result = await context.services.conversations.changeSettings({
        conversationId, actorId: viewer.userId,
        ...(model === null || model === undefined ? {} : { model }),
        ...(params === undefined ? {} : { params }),
        ...(systemPrompt === null || systemPrompt === undefined ? {} : { systemPrompt }),
      }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return conversationAfterWrite(context, conversationId, result.state);
    },
  }),
  pinConversation: t.field({
    type: Conversation, authScopes: { authenticated: true }, args: { id: t.arg.id() },
    resolve: (_root, args, context) => change(context, String(args.id), (actorId) => ({ type: 'PinConversation', conversationId: String(args.id), actorId })),
  }),
  unpinConversation: t.field({
    type: Conversation, authScopes: { authenticated: true }, args: { id: t.arg.id() },
    resolve: (_root, args, context) => change(context, String(args.id), (actorId) => ({ type: 'UnpinConversation', conversationId: String(args.id), actorId })),
  }),
  tagConversation: t.field({
    type: Conversation,
    description: `Adds a tag (1 to ${MAX_TAG_LENGTH} characters, one line; case-insensitively unique per conversation)`,
    authScopes: { authenticated: true }, args: { id: t.arg.id(), tag: t.arg.string({ validate: tagArg }) },
    resolve: (_root, args, context) => change(context, String(args.id),
      (actorId) => ({ type: 'TagConversation', conversationId: String(args.id), actorId, tag: args.tag })),
  }),
  untagConversation: t.field({
    type: Conversation, authScopes: { authenticated: true }, args: { id: t.arg.id(), tag: t.arg.string({ validate: tagArg }) },
    resolve: (_root, args, context) => change(context, String(args.id),
      (actorId) => ({ type: 'UntagConversation', conversationId: String(args.id), actorId, tag: args.tag })),
  }),
}));

const SearchHit = builder.objectRef<SearchHitRow>('ConversationSearchHit').implement({
  fields: (t) => ({
    conversation: t.field({ type: Conversation, resolve: (hit) => hit }),
    titleMatched: t.boolean({ resolve: (hit) => hit.title_matched }),
    matchedMessages: t.field({
      type: [Message], description: 'The first few matching messages (of any branch), oldest first',
      resolve: (hit) => hit.matched_messages,
    }),
  }),
});

const isoDate = (value: unknown) => (value instanceof Date ? value.toISOString() : value === null || value === undefined ? null : String(value));

builder.queryFields((t) => ({
  searchConversations: t.connection({
    type: SearchHit,
    description: 'Searches your own conversations: words of titles and message text (every branch), with filters; most recently active first. '
      + 'query uses web search syntax: words (all must occur), "a phrase", OR, -word; matching is by whole word, case-insensitive.',
    authScopes: { authenticated: true },
    args: {
      query: t.arg.string({ required: false, validate: z.string().max(MAX_SEARCH_LENGTH, `must be at most ${MAX_SEARCH_LENGTH} characters`) }),
      tag: t.arg.string({ required: false, validate: tagArg }),
      archived: t.arg.boolean({ required: false, description: 'true: only archived; false: only active; absent: both' }),
      from: t.arg({ type: 'DateTime', required: false, description: 'Last activity at or after' }),
      to: t.arg({ type: 'DateTime', required: false, description: 'Last activity before' }),
    },
    resolve: (_root, args, context) => {
      checkPageArgs(args);
      const viewer = requireViewer(context);
      const query = args.query ?? null;
      const problem = query === null ? null : textProblem(query, 'single-line');
      if (problem) throw clientError('BAD_USER_INPUT', `query ${problem}`);
      const key = (cursor: string): [string, string] => {
        const [updatedAt, id] = decodeCursor(cursor, 2) as [string, string];
        if (Number.isNaN(Date.parse(updatedAt))) throw clientError('BAD_USER_INPUT', 'Invalid cursor');
        return [updatedAt, id];
      };
      return resolveCursorConnection(
        { args, toCursor: (hit: SearchHitRow) => encodeCursor([hit.updated_at, hit.conversation_id]), defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => searchConversations(context.services.readDb, viewer.userId, {
          query, tag: args.tag ?? null, archived: args.archived ?? null, from: isoDate(args.from), to: isoDate(args.to),
        }, { after: after ? key(after) : null, before: before ? key(before) : null, limit, inverted }),
      );
    },
  }),
}));
