import type { ConversationEvent } from '../domain/conversation/conversation.ts';
import type { ShareEvent } from '../domain/conversation/share.ts';
import type { UserEvent } from '../domain/user/user.ts';
import type { Projection } from './projection.ts';

/**
 * Live share links (migrations/0015_conversation_shares.sql). A revoked share's row is deleted, and
 * so are a conversation's when it is deleted or expires, and an owner's when they are erased: the
 * read model only ever holds links that may still be opened (an expiry time is checked on reading).
 */
export const sharesProjection: Projection = {
  name: 'conversation-shares',
  tables: ['conversation_shares'],
  eventTypes: ['ConversationShared', 'ConversationShareRevoked', 'ConversationDeleted', 'ConversationExpired', 'UserDataErased'],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as ShareEvent | ConversationEvent | UserEvent;
    switch (event.type) {
      case 'ConversationShared': {
        const d = event.data;
        await tx.query(
          `INSERT INTO conversation_shares (share_id, token_hash, conversation_id, owner_id, conversation_revision, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (share_id) DO NOTHING`,
          [d.shareId, d.tokenHash, d.conversationId, d.ownerId, d.conversationRevision, d.expiresAt, recorded.metadata.occurredAt],
        );
        return;
      }
      case 'ConversationShareRevoked':
        await tx.query('DELETE FROM conversation_shares WHERE share_id = $1', [event.data.shareId]);
        return;
      case 'ConversationDeleted':
      case 'ConversationExpired':
        await tx.query('DELETE FROM conversation_shares WHERE conversation_id = $1', [event.data.conversationId]);
        return;
      case 'UserDataErased':
        await tx.query('DELETE FROM conversation_shares WHERE owner_id = $1', [event.data.userId]);
        return;
      default:
        return;
    }
  },
};
