import type { ConversationEvent } from '../domain/conversation/conversation.ts';
import type { TokenQuotaEvent } from '../domain/usage/token-quota.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';
import type { Projection } from './projection.ts';

/** The UTC day of an ISO time. */
const dayOf = (iso: string): string => new Date(Date.parse(iso)).toISOString().slice(0, 10);

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value) : 0);

/**
 * Usage per person, model and UTC day, from the reply events: a request is counted when a reply is
 * started (under the model asked for), its tokens when it completes with the provider's usage (a
 * cancelled, failed or interrupted reply has no usage to add). Also the admins' daily token quotas.
 */
export const usageProjection: Projection = {
  name: 'usage',
  tables: ['usage_daily', 'usage_open_replies', 'token_quotas'],
  eventTypes: ['AssistantReplyStarted', 'AssistantReplyCompleted', 'AssistantReplyCancelled', 'AssistantReplyFailed', 'AssistantReplyInterrupted',
    'UserTokenQuotaSet', ERASURE_EVENT],
  async handle(recorded, tx) {
    const day = dayOf(recorded.metadata.occurredAt);
    if (recorded.type === ERASURE_EVENT) {
      const { userId } = recorded.data as { userId: string };
      for (const table of ['usage_daily', 'usage_open_replies', 'token_quotas']) await tx.query(`DELETE FROM ${table} WHERE user_id = $1`, [userId]);
      return;
    }
    const event = { type: recorded.type, data: recorded.data } as ConversationEvent | TokenQuotaEvent;
    switch (event.type) {
      case 'AssistantReplyStarted': {
        const inserted = await tx.query(
          'INSERT INTO usage_open_replies (reply_id, user_id, model) VALUES ($1, $2, $3) ON CONFLICT (reply_id) DO NOTHING RETURNING reply_id',
          [event.data.replyId, event.data.ownerId, event.data.model]);
        if (inserted.rows.length === 0) return; // re-run
        await tx.query(
          `INSERT INTO usage_daily (user_id, day, model, requests) VALUES ($1, $2, $3, 1)
           ON CONFLICT (user_id, day, model) DO UPDATE SET requests = usage_daily.requests + 1`,
          [event.data.ownerId, day, event.data.model]);
        return;
      }
      case 'AssistantReplyCompleted': {
        const open = await tx.query<{ model: string }>('DELETE FROM usage_open_replies WHERE reply_id = $1 RETURNING model', [event.data.replyId]);
        const model = open.rows[0]?.model;
        const usage = event.data.usage;
        if (model === undefined || !usage) return; // re-run, or nothing to add
        await tx.query(
          `INSERT INTO usage_daily (user_id, day, model, prompt_tokens, completion_tokens, total_tokens) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (user_id, day, model) DO UPDATE SET prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
             completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens, total_tokens = usage_daily.total_tokens + excluded.total_tokens`,
          [event.data.ownerId, day, model, count(usage.promptTokens), count(usage.completionTokens), count(usage.totalTokens)]);
        return;
      }
      case 'AssistantReplyCancelled':
      case 'AssistantReplyFailed':
      case 'AssistantReplyInterrupted':
        await tx.query('DELETE FROM usage_open_replies WHERE reply_id = $1', [event.data.replyId]);
        return;
      case 'UserTokenQuotaSet':
        if (event.data.tokensPerDay === null) await tx.query('DELETE FROM token_quotas WHERE user_id = $1', [event.data.userId]);
        else {
          await tx.query(
            'INSERT INTO token_quotas (user_id, tokens_per_day) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET tokens_per_day = excluded.tokens_per_day',
            [event.data.userId, event.data.tokensPerDay]);
        }
        return;
      default:
        return;
    }
  },
};
