import { randomBytes } from 'node:crypto';
import { conversationDecider, conversationStream } from '../domain/conversation/conversation.ts';
import { shareDecider, shareStream } from '../domain/conversation/share.ts';
import { DomainError } from '../domain/decider.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { hashToken } from '../infra/passwords.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, loadAggregate } from './execute-command.ts';

/**
 * Share links (src/domain/conversation/share.ts). The token is made here, returned once, and only
 * its sha256 is recorded — the same scheme as session tokens.
 */
export function createShareCommands(deps: { store: EventStore }) {
  const { store } = deps;
  return {
    async share(input: { conversationId: string; ownerId: string; expiresAt: string | null }, context: CommandContext) {
      const { state, revision } = await loadAggregate(store, conversationDecider, conversationStream(input.conversationId));
      // Not yours and not there answer alike.
      if (state.status !== 'active' || state.ownerId !== input.ownerId || revision === 'no_stream') {
        throw new DomainError('NOT_FOUND', 'Conversation not found');
      }
      const shareId = context.newId();
      const token = `evs_${randomBytes(32).toString('base64url')}`;
      const result = await executeCommand(store, shareDecider, shareStream(shareId), {
        type: 'ShareConversation', shareId, conversationId: input.conversationId, ownerId: input.ownerId,
        tokenHash: hashToken(token), conversationRevision: Number(revision), expiresAt: input.expiresAt, now: context.now().toISOString(),
      }, context);
      return { shareId, token, ...result };
    },

    revoke(input: { shareId: string; actorId: string }, context: CommandContext) {
      return executeCommand(store, shareDecider, shareStream(input.shareId), { type: 'RevokeShare', ...input }, context);
    },
  };
}

export type ShareCommands = ReturnType<typeof createShareCommands>;

/** A share token: `evs_` and 43 base64url characters (32 random bytes). Anything else opens nothing, without a lookup. */
export const SHARE_TOKEN = /^evs_[A-Za-z0-9_-]{43}$/;
