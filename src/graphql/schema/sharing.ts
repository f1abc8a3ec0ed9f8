import { z } from 'zod';
import { SHARE_TOKEN, createShareCommands } from '../../commands/shares.ts';
import { checkId } from '../../domain/identifiers.ts';
import { hashToken } from '../../infra/passwords.ts';
import { conversationAsOf, messagesAsOf } from '../../projections/conversation-as-of.ts';
import type { MessageRow } from '../../projections/conversations-queries.ts';
import { ownedConversation } from '../../projections/conversations-queries.ts';
import { openShare, ownedShare, ownedShares, type ShareRow } from '../../projections/shares-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { isPending, settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';
import { MessageRole } from './conversations.ts';

/**
 * Share links (docs/sharing.md): a read-only snapshot of a conversation as it was when shared,
 * opened by its token without an account. Expired, revoked, deleted, erased and unknown all answer
 * the same NOT_FOUND, so a token's fate is no oracle.
 */

const shares = (context: GraphQLContext) => createShareCommands({ store: context.services.store });
const notFound = () => clientError('NOT_FOUND', 'Shared conversation not found');
const FAR_FUTURE = new Date(8.64e15);

const Share = builder.objectRef<ShareRow>('ConversationShare').implement({
  description: 'A share link of one of your conversations (the token itself is shown only when it is made)',
  fields: (t) => ({
    id: t.exposeID('share_id'),
    conversationId: t.exposeID('conversation_id'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.created_at }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'Null: until revoked', resolve: (s) => s.expires_at }),
    expired: t.boolean({ resolve: (s) => s.expires_at !== null && Date.parse(s.expires_at) <= Date.now() }),
  }),
});

const ShareLink = builder.objectRef<{ token: string; share: ShareRow }>('ConversationShareLink').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Shown this once: only its hash is kept. Anyone holding it can read the snapshot.' }),
    share: t.field({ type: Share, resolve: (l) => l.share }),
  }),
});

const SharedMessage = builder.objectRef<MessageRow>('SharedMessage').implement({
  fields: (t) => ({
    role: t.field({ type: MessageRole, resolve: (m) => (m.role === 'user' ? 'USER' : 'ASSISTANT') }),
    content: t.string({ nullable: true, resolve: (m) => m.content }),
    status: t.string({ description: 'complete, streaming, cancelled, failed or interrupted (lower case)', resolve: (m) => m.status }),
    model: t.string({ nullable: true, resolve: (m) => m.model }),
    createdAt: t.field({ type: 'DateTime', resolve: (m) => m.created_at }),
    citedSources: t.int({ description: 'How many sources the reply was given (cited as [n]); the documents themselves are not shared', resolve: (m) => m.sources?.length ?? 0 }),
  }),
});

interface SharedValue { title: string | null; model: string; sharedAt: string; expiresAt: string | null; messages: MessageRow[] }

const SharedConversation = builder.objectRef<SharedValue>('SharedConversation').implement({
  description: 'A read-only snapshot of a conversation, as it was when it was shared',
  fields: (t) => ({
    title: t.string({ nullable: true, resolve: (s) => s.title }),
    model: t.exposeString('model'),
    sharedAt: t.field({ type: 'DateTime', resolve: (s) => s.sharedAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.expiresAt }),
    messages: t.field({ type: [SharedMessage], description: 'Oldest first', resolve: (s) => s.messages }),
  }),
});

async function ownConversationId(context: GraphQLContext, raw: string): Promise<string> {
  const conversationId = checkId(raw, 'Conversation id');
  if (!(await ownedConversation(context.services.readDb, requireViewer(context).userId, conversationId))) {
    throw clientError('NOT_FOUND', 'Conversation not found');
  }
  return conversationId;
}

builder.queryFields((t) => ({
  sharedConversation: t.field({
    type: SharedConversation,
    description: 'The snapshot a share link shows; no account needed. NOT_FOUND when the link is unknown, expired or revoked.',
    args: { token: t.arg.string({ validate: z.string().max(200, 'must be at most 200 characters') }) },
    resolve: async (_root, args, context) => {
      // A token of the wrong shape opens nothing: answered without a lookup.
      if (!SHARE_TOKEN.test(args.token)) throw notFound();
      const share = await openShare(context.services.readDb, hashToken(args.token), new Date());
      if (!share) throw notFound();
      const folded = await conversationAsOf(context.services.store, share.conversation_id, FAR_FUTURE,
        { throughRevision: BigInt(share.conversation_revision) });
      if (!folded || folded.conversation.owner_id !== share.owner_id) throw notFound();
      return {
        title: folded.conversation.title, model: folded.conversation.model, sharedAt: share.created_at, expiresAt: share.expires_at,
        // The branch the owner was looking at when sharing (a message tree's other branches stay private).
        messages: messagesAsOf(folded.conversation, 'active') ?? folded.messages,
      };
    },
  }),
  conversationShares: t.field({
    type: [Share],
    description: 'The share links of one of your conversations that are not revoked, newest first',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id() },
    resolve: async (_root, args, context) => {
      const conversationId = await ownConversationId(context, String(args.conversationId));
      return ownedShares(context.services.readDb, requireViewer(context).userId, conversationId);
    },
  }),
}));

builder.mutationFields((t) => ({
  shareConversation: t.field({
    type: ShareLink,
    description: 'Makes a read-only link to a snapshot of your conversation as it is now (later messages are not shown). '
      + 'Without expiresAt it lasts until revoked.',
    authScopes: { authenticated: true },
    args: { conversationId: t.arg.id(), expiresAt: t.arg({ type: 'DateTime', required: false }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const conversationId = checkId(String(args.conversationId), 'Conversation id');
      const command = context.services.commandContext(viewer.userId, context.requestId);
      const result = await shares(context).share({ conversationId, ownerId: viewer.userId, expiresAt: args.expiresAt ?? null }, command);
      await settle(context, result);
      const row = await ownedShare(context.services.readDb, viewer.userId, result.shareId);
      if (row) return { token: result.token, share: row };
      if (!isPending(context)) throw clientError('NOT_FOUND', 'Conversation not found');
      const shared = result.events[0]!.data as { conversationRevision: number; expiresAt: string | null };
      return { token: result.token, share: {
        share_id: result.shareId, conversation_id: conversationId, owner_id: viewer.userId, conversation_revision: String(shared.conversationRevision),
        expires_at: shared.expiresAt, created_at: new Date().toISOString(),
      } };
    },
  }),
  revokeShare: t.id({
    description: 'Ends a share link of yours at once; returns its id. Revoking it again changes nothing.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const shareId = checkId(String(args.id), 'Share id');
      const result = await shares(context).revoke({ shareId, actorId: viewer.userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return shareId;
    },
  }),
}));
