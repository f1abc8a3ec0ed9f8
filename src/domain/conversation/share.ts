import { DomainError, type Decider, type DomainEvent } from '../decider.ts';
import { checkId } from '../identifiers.ts';

/**
 * A share link: a read-only snapshot of a conversation, readable by whoever holds its token, with no
 * account. Its own stream (`conversation-share-<shareId>`), so sharing never contends with the
 * conversation's writers. Like a session token, the token itself never enters the log: only its
 * sha256. The snapshot is the conversation's stream up to `conversationRevision`, the revision it
 * had when it was shared (src/projections/conversation-as-of.ts folds it).
 *
 * Whether the conversation exists and is the actor's is checked by the command layer, which loads
 * it (src/commands/shares.ts). Deleting the conversation or erasing its owner ends every share in
 * the read model (src/projections/shares-projection.ts); no event is needed for that.
 */
export type ConversationShared = DomainEvent<'ConversationShared', {
  shareId: string; conversationId: string; ownerId: string; tokenHash: string;
  /** The last revision of the conversation's stream the snapshot shows. */
  conversationRevision: number;
  /** Null: until revoked. */
  expiresAt: string | null;
}>;
export type ConversationShareRevoked = DomainEvent<'ConversationShareRevoked', { shareId: string; conversationId: string; ownerId: string }>;
export type ShareEvent = ConversationShared | ConversationShareRevoked;

export type ShareCommand =
  | { type: 'ShareConversation'; shareId: string; conversationId: string; ownerId: string; tokenHash: string;
      conversationRevision: number; expiresAt: string | null; now: string }
  | { type: 'RevokeShare'; shareId: string; actorId: string };

export interface ShareState {
  status: 'none' | 'active' | 'revoked';
  conversationId: string | null;
  ownerId: string | null;
}

export const shareStream = (shareId: string) => `conversation-share-${shareId}`;

/** The longest a share may be set to last (null = until revoked is also allowed). */
export const MAX_SHARE_DAYS = 366;

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

export const shareDecider: Decider<ShareCommand, ShareState, ShareEvent> = {
  initialState: () => ({ status: 'none', conversationId: null, ownerId: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'ConversationShared':
        return { status: 'active', conversationId: event.data.conversationId, ownerId: event.data.ownerId };
      case 'ConversationShareRevoked':
        return { ...state, status: 'revoked' };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'ShareConversation': {
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'Share already exists');
        if (!/^[0-9a-f]{64}$/.test(command.tokenHash)) throw bad('Token hash must be a sha256 hex digest');
        if (!Number.isSafeInteger(command.conversationRevision) || command.conversationRevision < 0) throw bad('Conversation revision must be a whole number');
        const now = Date.parse(command.now);
        if (Number.isNaN(now)) throw bad('The time must be an ISO date');
        let expiresAt: string | null = null;
        if (command.expiresAt !== null && command.expiresAt !== undefined) {
          const at = typeof command.expiresAt === 'string' ? Date.parse(command.expiresAt) : Number.NaN;
          if (Number.isNaN(at)) throw bad('expiresAt must be an ISO date and time');
          if (at <= now) throw bad('expiresAt must be in the future');
          if (at - now > MAX_SHARE_DAYS * 86_400_000) throw bad(`expiresAt must be at most ${MAX_SHARE_DAYS} days ahead`);
          expiresAt = new Date(at).toISOString();
        }
        return [{ type: 'ConversationShared', data: {
          shareId: checkId(command.shareId, 'Share id'), conversationId: checkId(command.conversationId, 'Conversation id'),
          ownerId: checkId(command.ownerId, 'Owner id'), tokenHash: command.tokenHash, conversationRevision: command.conversationRevision, expiresAt,
        } }];
      }
      case 'RevokeShare': {
        // Someone else's share is "not found", like someone else's conversation.
        if (state.status === 'none' || state.ownerId !== command.actorId) throw new DomainError('NOT_FOUND', 'Share not found');
        if (state.status === 'revoked') return [];
        return [{ type: 'ConversationShareRevoked', data: { shareId: command.shareId, conversationId: state.conversationId!, ownerId: state.ownerId } }];
      }
    }
  },

  schemaVersions: { ConversationShared: 1, ConversationShareRevoked: 1 },
};
