import type { ConversationEvent } from '../domain/conversation/conversation.ts';
import type { UserEvent } from '../domain/user/user.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { ConversationBatch, json, ms } from './conversations-batch.ts';
import { personalField, type Projection } from './projection.ts';


/**
 * message_count is recounted rather than incremented, and times only move forward (GREATEST), so
 * applying an event a second time leaves the row exactly as the first time did.
 */
async function touch(tx: SqlExecutor, conversationId: string, at: string, message: boolean): Promise<void> {
  await tx.query(
    `UPDATE conversations SET
       message_count = (SELECT count(*) FROM messages WHERE messages.conversation_id = $1),
       updated_at = GREATEST(updated_at, $2::timestamptz),
       last_message_at = CASE WHEN $3::boolean THEN GREATEST(last_message_at, $2::timestamptz) ELSE last_message_at END
     WHERE conversation_id = $1`,
    [conversationId, at, message],
  );
}

/** The active branch now ends at `leafId` (a message of the conversation). */
async function setLeaf(tx: SqlExecutor, conversationId: string, leafId: string): Promise<void> {
  await tx.query('UPDATE conversations SET active_leaf_id = $2 WHERE conversation_id = $1', [conversationId, leafId]);
}

/** Sets a reply's final state; the row was created by AssistantReplyStarted (same stream, earlier). */
async function finishReply(
  tx: SqlExecutor, conversationId: string, replyId: string, at: string,
  fields: { status: string; content: string | null; latencyMs?: number | null; usage?: unknown; timeToFirstTokenMs?: number | null;
    finishReason?: string | null; errorCode?: string | null; errorMessage?: string | null; model?: string; params?: unknown;
    sources?: unknown; provenance?: unknown },
): Promise<void> {
  await tx.query(
    `UPDATE messages SET status = $3, content = $4, latency_ms = $5, usage = $6::jsonb, time_to_first_token_ms = $7,
       finish_reason = $8, error_code = $9, error_message = $10, completed_at = $11,
       model = COALESCE($12, model), params = COALESCE($13::jsonb, params), sources = $14::jsonb, provenance = $15::jsonb
     WHERE message_id = $2 AND conversation_id = $1`,
    [conversationId, replyId, fields.status, fields.content, ms(fields.latencyMs), json(fields.usage), ms(fields.timeToFirstTokenMs),
      fields.finishReason ?? null, fields.errorCode ?? null, fields.errorMessage ?? null, at, fields.model ?? null, json(fields.params),
      JSON.stringify(Array.isArray(fields.sources) ? fields.sources : []), json(fields.provenance)],
  );
  await touch(tx, conversationId, at, false);
}

export const conversationsProjection: Projection = {
  name: 'conversations',
  tables: ['conversations', 'messages'],
  eventTypes: [
    'ConversationStarted', 'ConversationRenamed', 'ConversationArchived', 'ConversationUnarchived', 'ConversationDeleted',
    'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCompleted', 'AssistantReplyCancelled', 'AssistantReplyFailed',
    'AssistantReplyInterrupted', 'ConversationKnowledgeAttached',
    // Conversation tools: branches, mid-way settings, pins and tags.
    'ReplyRegenerationRequested', 'ConversationBranchSwitched', 'ConversationModelChanged', 'ConversationParametersChanged',
    'ConversationSystemPromptChanged', 'ConversationPinned', 'ConversationUnpinned', 'ConversationTagged', 'ConversationUntagged',
    // Erasing a person drops their conversations and messages (ARCHITECTURE.md §5).
    'UserDataErased',
    // Retention: an expired conversation goes like a deleted one (docs/audit.md).
    'ConversationExpired',
    // Import (src/domain/conversation/import-formats.ts): a conversation and its messages as another application recorded them.
    'ConversationImported', 'ConversationMessageImported',
  ],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as ConversationEvent | UserEvent;
    const at = recorded.metadata.occurredAt;
    const seq = recorded.position.toString();
    switch (event.type) {
      case 'ConversationStarted': {
        const d = event.data;
        await tx.query(
          `INSERT INTO conversations (conversation_id, owner_id, title, model, system_prompt, params, archived, message_count,
             created_at, updated_at, last_message_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, false, 0, $7, $7, NULL)
           ON CONFLICT (conversation_id) DO UPDATE SET owner_id = excluded.owner_id, title = excluded.title, model = excluded.model,
             system_prompt = excluded.system_prompt, params = excluded.params, created_at = excluded.created_at`,
          [d.conversationId, d.ownerId, personalField(recorded, 'title', d.title), d.model,
            personalField(recorded, 'systemPrompt', d.systemPrompt), json(d.params), at],
        );
        return;
      }
      case 'ConversationRenamed':
        await tx.query('UPDATE conversations SET title = $2 WHERE conversation_id = $1',
          [event.data.conversationId, personalField(recorded, 'title', event.data.title)]);
        await touch(tx, event.data.conversationId, at, false);
        return;
      case 'ConversationArchived':
      case 'ConversationUnarchived':
        await tx.query('UPDATE conversations SET archived = $2 WHERE conversation_id = $1',
          [event.data.conversationId, event.type === 'ConversationArchived']);
        await touch(tx, event.data.conversationId, at, false);
        return;
      case 'ConversationDeleted':
      case 'ConversationExpired':
        await tx.query('DELETE FROM messages WHERE conversation_id = $1', [event.data.conversationId]);
        await tx.query('DELETE FROM conversations WHERE conversation_id = $1', [event.data.conversationId]);
        return;
      case 'UserMessageSent': {
        const d = event.data;
        // The WHERE keeps a (never expected) id collision from overwriting another conversation's row.
        // Version 1 has no parentId: it follows the newest message, the active leaf (never itself, on a re-run);
        // a re-run leaves the parent it got the first time.
        await tx.query(
          `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, created_at, completed_at, seq,
             parent_id, edited_message_id)
           VALUES ($1, $2, $3, 'user', $4, 'complete', $5, $5, $6,
             CASE WHEN $7::boolean THEN $8::text
               ELSE (SELECT active_leaf_id FROM conversations WHERE conversation_id = $2 AND active_leaf_id <> $1) END, $9)
           ON CONFLICT (message_id) DO UPDATE SET content = excluded.content, created_at = excluded.created_at,
             completed_at = excluded.completed_at, seq = excluded.seq
           WHERE messages.conversation_id = excluded.conversation_id`,
          [d.messageId, d.conversationId, d.ownerId, personalField(recorded, 'content', d.content), at, seq,
            d.parentId !== undefined, d.parentId ?? null, d.editedMessageId ?? null],
        );
        await setLeaf(tx, d.conversationId, d.messageId);
        await touch(tx, d.conversationId, at, true);
        return;
      }
      case 'AssistantReplyStarted': {
        const d = event.data;
        // On a re-run, only the facts of this event are rewritten: a reply that already finished stays finished.
        await tx.query(
          `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, in_reply_to, model, params, created_at, seq, parent_id)
           VALUES ($1, $2, $3, 'assistant', '', 'streaming', $4, $5, $6::jsonb, $7, $8, $4)
           ON CONFLICT (message_id) DO UPDATE SET in_reply_to = excluded.in_reply_to, created_at = excluded.created_at, seq = excluded.seq,
             parent_id = excluded.parent_id
           WHERE messages.conversation_id = excluded.conversation_id`,
          [d.replyId, d.conversationId, d.ownerId, d.inReplyTo, d.model, json(d.params), at, seq],
        );
        await setLeaf(tx, d.conversationId, d.replyId);
        await touch(tx, d.conversationId, at, true);
        return;
      }
      case 'AssistantReplyCompleted': {
        const d = event.data;
        await finishReply(tx, d.conversationId, d.replyId, at, {
          status: 'complete', content: personalField(recorded, 'text', d.text), latencyMs: d.latencyMs, usage: d.usage,
          timeToFirstTokenMs: d.timeToFirstTokenMs, finishReason: d.finishReason, model: d.model, params: d.params,
          sources: d.sources, provenance: d.provenance,
        });
        return;
      }
      case 'AssistantReplyCancelled': {
        const d = event.data;
        await finishReply(tx, d.conversationId, d.replyId, at,
          { status: 'cancelled', content: personalField(recorded, 'partialText', d.partialText), latencyMs: d.latencyMs, provenance: d.provenance });
        return;
      }
      case 'AssistantReplyFailed': {
        const d = event.data;
        await finishReply(tx, d.conversationId, d.replyId, at, {
          status: 'failed', content: personalField(recorded, 'partialText', d.partialText), latencyMs: d.latencyMs,
          errorCode: d.errorCode, errorMessage: d.errorMessage, provenance: d.provenance,
        });
        return;
      }
      case 'AssistantReplyInterrupted': {
        const d = event.data;
        await finishReply(tx, d.conversationId, d.replyId, at,
          { status: 'interrupted', content: personalField(recorded, 'partialText', d.partialText) });
        return;
      }
      case 'ConversationKnowledgeAttached': {
        const d = event.data;
        await tx.query('UPDATE conversations SET knowledge_base_ids = $2::jsonb, document_ids = $3::jsonb WHERE conversation_id = $1',
          [d.conversationId, JSON.stringify(d.knowledgeBaseIds), JSON.stringify(d.documentIds)]);
        await touch(tx, d.conversationId, at, false);
        return;
      }
      case 'ConversationImported': {
        const d = event.data;
        await tx.query(
          `INSERT INTO conversations (conversation_id, owner_id, title, model, system_prompt, params, archived, message_count,
             created_at, updated_at, last_message_at)
           VALUES ($1, $2, $3, $4, NULL, '{}'::jsonb, false, 0, $5, $5, NULL)
           ON CONFLICT (conversation_id) DO UPDATE SET owner_id = excluded.owner_id, title = excluded.title, model = excluded.model,
             created_at = excluded.created_at`,
          [d.conversationId, d.ownerId, personalField(recorded, 'title', d.title), d.model, at],
        );
        return;
      }
      case 'ConversationMessageImported': {
        const d = event.data;
        const createdAt = d.createdAt ?? at;
        await tx.query(
          // An import is one linear path: each message follows the one imported before it (the active leaf).
          `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, model, created_at, completed_at, seq, parent_id)
           VALUES ($1, $2, $3, $4, $5, 'complete', $6, $7, $7, $8,
             (SELECT active_leaf_id FROM conversations WHERE conversation_id = $2 AND active_leaf_id <> $1))
           ON CONFLICT (message_id) DO UPDATE SET content = excluded.content, model = excluded.model, created_at = excluded.created_at,
             completed_at = excluded.completed_at, seq = excluded.seq
           WHERE messages.conversation_id = excluded.conversation_id`,
          [d.messageId, d.conversationId, d.ownerId, d.role, personalField(recorded, 'content', d.content), d.model, createdAt, seq],
        );
        await setLeaf(tx, d.conversationId, d.messageId);
        await touch(tx, d.conversationId, at, true);
        return;
      }
      case 'ReplyRegenerationRequested':
        await setLeaf(tx, event.data.conversationId, event.data.messageId);
        return;
      case 'ConversationBranchSwitched':
        await setLeaf(tx, event.data.conversationId, event.data.leafId);
        return;
      case 'ConversationModelChanged':
        await tx.query('UPDATE conversations SET model = $2 WHERE conversation_id = $1', [event.data.conversationId, event.data.model]);
        await touch(tx, event.data.conversationId, at, false);
        return;
      case 'ConversationParametersChanged':
        await tx.query('UPDATE conversations SET params = $2::jsonb WHERE conversation_id = $1', [event.data.conversationId, json(event.data.params ?? {})]);
        await touch(tx, event.data.conversationId, at, false);
        return;
      case 'ConversationSystemPromptChanged':
        await tx.query('UPDATE conversations SET system_prompt = $2 WHERE conversation_id = $1',
          [event.data.conversationId, personalField(recorded, 'systemPrompt', event.data.systemPrompt)]);
        await touch(tx, event.data.conversationId, at, false);
        return;
      case 'ConversationPinned':
      case 'ConversationUnpinned':
        await tx.query('UPDATE conversations SET pinned = $2 WHERE conversation_id = $1', [event.data.conversationId, event.type === 'ConversationPinned']);
        return;
      case 'ConversationTagged': {
        const tag = personalField(recorded, 'tag', event.data.tag);
        if (typeof tag !== 'string') return;
        // Appended unless held already (case-insensitively): a re-run changes nothing.
        await tx.query(
          `UPDATE conversations SET tags = tags || jsonb_build_array($2::text)
           WHERE conversation_id = $1 AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(tags) t WHERE lower(t) = lower($2))`,
          [event.data.conversationId, tag]);
        return;
      }
      case 'ConversationUntagged': {
        const tag = personalField(recorded, 'tag', event.data.tag);
        if (typeof tag !== 'string') return;
        await tx.query(
          `UPDATE conversations SET tags = COALESCE((SELECT jsonb_agg(t ORDER BY i) FROM jsonb_array_elements_text(tags) WITH ORDINALITY AS e(t, i)
             WHERE lower(t) <> lower($2)), '[]'::jsonb)
           WHERE conversation_id = $1`,
          [event.data.conversationId, tag]);
        return;
      }
      case 'UserDataErased':
        await tx.query('DELETE FROM messages WHERE owner_id = $1', [event.data.userId]);
        await tx.query('DELETE FROM conversations WHERE owner_id = $1', [event.data.userId]);
        return;
      default:
        return;
    }
  },
  /** Starts, messages, replies and their ends as a few multi-row statements (conversations-batch.ts); the rest through handle(). */
  async handleBatch(events, tx) {
    await new ConversationBatch(tx, (event, executor) => conversationsProjection.handle(event, executor)).apply(events);
  },
};
