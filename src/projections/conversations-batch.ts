import type { RecordedEvent } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { personalField } from './projection.ts';

export const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
export const ms = (value: number | null | undefined) => (typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : null);

type Cell = string | number | boolean | null;
type Data = Record<string, unknown>;

/** What a conversation's row still owes at the end of the buffered writes: the leaf, and the latest times. */
interface Touch { leaf: string | null; updatedAt: string; messageAt: string | null }

const FINISHED: Record<string, string> = {
  AssistantReplyCompleted: 'complete', AssistantReplyCancelled: 'cancelled', AssistantReplyFailed: 'failed', AssistantReplyInterrupted: 'interrupted',
};

/**
 * A message's parent taken from its conversation's active leaf, as handle() does, unless the leaf is
 * this very message (a re-run). `v.leaf` is the buffered leaf, if any. A conversation started in this
 * buffer has no row yet: its leaf is the buffered one, or the row's (there when the start is a
 * re-run) while nothing in the buffer set one.
 */
const PARENT_FROM_LEAF = `CASE WHEN v.started::boolean AND v.leaf IS NOT NULL THEN NULLIF(v.leaf, v.message_id)
             ELSE (SELECT COALESCE(v.leaf, c.active_leaf_id) FROM conversations c
                   WHERE c.conversation_id = v.conversation_id AND COALESCE(v.leaf, c.active_leaf_id) <> v.message_id) END`;

/**
 * The conversations projection over many events at once, writing what handle() writes event by event.
 *
 * A conversation's life is mostly starts, messages, replies and their ends: those are buffered and
 * written as one multi-row statement each (conversations, user messages, replies, imported messages,
 * reply ends), and every touched conversation gets its leaf, count and times in one final UPDATE.
 * That is exact because the buffered writes commute: rows have distinct ids (a repeated id, or a
 * start for a conversation the buffer already touched, writes the buffer out first), a reply's end
 * comes after its start's insert (inserts go first; an insert after a buffered end writes the buffer
 * out), times only move forward and the count is recounted last. A parent taken from the active leaf
 * reads the buffered leaf when there is one. Every other event writes the buffer out and then goes through handle().
 *
 * Two writes skip their UPDATE: a reply whose end is buffered with its start is inserted finished, and a
 * conversation started in the buffer is inserted last, with its leaf, count and times. Where the row was
 * already there (a re-run: `xmax` is not 0 in RETURNING), it gets the UPDATE as before.
 */
export class ConversationBatch {
  private conversations = new Map<string, Cell[]>();
  private userMessages: Cell[][] = [];
  /** Reply starts by id; one whose end is buffered too carries it, and is inserted finished (no UPDATE). */
  private replies = new Map<string, { row: Cell[]; conversationId: string; finish: Cell[] | null }>();
  private imported: Cell[][] = [];
  private finishes: Cell[][] = [];
  private ids = new Set<string>();
  private finishedIds = new Set<string>();
  private touches = new Map<string, Touch>();

  private readonly tx: SqlExecutor;
  private readonly handleOne: (event: RecordedEvent, tx: SqlExecutor) => Promise<void>;

  constructor(tx: SqlExecutor, handleOne: (event: RecordedEvent, tx: SqlExecutor) => Promise<void>) {
    this.tx = tx;
    this.handleOne = handleOne;
  }

  async apply(events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events) await this.add(event);
    await this.flush();
  }

  private async add(recorded: RecordedEvent): Promise<void> {
    const d = recorded.data as Data;
    const at = recorded.metadata.occurredAt;
    const seq = recorded.position.toString();
    const conversationId = d.conversationId as string;
    switch (recorded.type) {
      case 'ConversationStarted':
        if (this.ids.has(conversationId) || this.touches.has(conversationId)) await this.flush();
        this.ids.add(conversationId);
        this.conversations.set(conversationId, [conversationId, d.ownerId as string, personalField(recorded, 'title', d.title as string) as Cell,
          d.model as string, personalField(recorded, 'systemPrompt', d.systemPrompt as string) as Cell, json(d.params), at]);
        return;
      case 'UserMessageSent': {
        const messageId = await this.claim(d.messageId as string);
        const hasParent = d.parentId !== undefined;
        this.userMessages.push([messageId, conversationId, d.ownerId as string, personalField(recorded, 'content', d.content as string) as Cell,
          at, seq, hasParent, (d.parentId as string | undefined) ?? null, hasParent ? null : this.leafOf(conversationId),
          (d.editedMessageId as string | undefined) ?? null, this.conversations.has(conversationId)]);
        this.touch(conversationId, at, messageId, true);
        return;
      }
      case 'AssistantReplyStarted': {
        const replyId = await this.claim(d.replyId as string);
        const row: Cell[] = [replyId, conversationId, d.ownerId as string, d.inReplyTo as string, d.model as string, json(d.params), at, seq];
        this.replies.set(replyId, { row, conversationId, finish: null });
        this.touch(conversationId, at, replyId, true);
        return;
      }
      case 'ConversationMessageImported': {
        const messageId = await this.claim(d.messageId as string);
        this.imported.push([messageId, conversationId, d.ownerId as string, d.role as string, personalField(recorded, 'content', d.content as string) as Cell,
          d.model as string, (d.createdAt as string | undefined) ?? at, seq, this.leafOf(conversationId), this.conversations.has(conversationId)]);
        this.touch(conversationId, at, messageId, true);
        return;
      }
      case 'AssistantReplyCompleted':
      case 'AssistantReplyCancelled':
      case 'AssistantReplyFailed':
      case 'AssistantReplyInterrupted': {
        const replyId = d.replyId as string;
        if (this.finishedIds.has(replyId)) await this.flush();
        this.finishedIds.add(replyId);
        const started = this.replies.get(replyId);
        const finish = finishRow(recorded, FINISHED[recorded.type]!);
        if (started && started.conversationId === conversationId) started.finish = finish;
        else this.finishes.push(finish);
        this.touch(conversationId, at, null, false);
        return;
      }
      default:
        await this.flush();
        await this.handleOne(recorded, this.tx);
    }
  }

  /**
   * A message id for the buffer. One already in it writes the buffer out first (a statement may not
   * touch a row twice), and so does one whose end is buffered (the end must not find this insert).
   */
  private async claim(id: string): Promise<string> {
    if (this.ids.has(id) || this.finishedIds.has(id)) await this.flush();
    this.ids.add(id);
    return id;
  }

  private leafOf(conversationId: string): string | null {
    return this.touches.get(conversationId)?.leaf ?? null;
  }

  private touch(conversationId: string, at: string, leaf: string | null, message: boolean): void {
    const pending = this.touches.get(conversationId);
    if (!pending) {
      this.touches.set(conversationId, { leaf, updatedAt: at, messageAt: message ? at : null });
      return;
    }
    if (leaf !== null) pending.leaf = leaf;
    if (Date.parse(at) > Date.parse(pending.updatedAt)) pending.updatedAt = at;
    if (message && (pending.messageAt === null || Date.parse(at) > Date.parse(pending.messageAt))) pending.messageAt = at;
  }

  private async flush(): Promise<void> {
    const tx = this.tx;
    if (this.userMessages.length > 0) {
      // As handle(): an explicit parent, else the active leaf.
      await tx.query(
        `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, created_at, completed_at, seq,
           parent_id, edited_message_id)
         SELECT v.message_id, v.conversation_id, v.owner_id, 'user', v.content, 'complete', v.at::timestamptz, v.at::timestamptz, v.seq::bigint,
           CASE WHEN v.has_parent::boolean THEN v.parent_id ELSE ${PARENT_FROM_LEAF} END,
           v.edited_message_id
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
           AS v(message_id, conversation_id, owner_id, content, at, seq, has_parent, parent_id, leaf, edited_message_id, started)
         ON CONFLICT (message_id) DO UPDATE SET content = excluded.content, created_at = excluded.created_at,
           completed_at = excluded.completed_at, seq = excluded.seq
         WHERE messages.conversation_id = excluded.conversation_id`,
        columns(this.userMessages, 11),
      );
    }
    const streaming = [...this.replies.values()].filter((reply) => reply.finish === null).map((reply) => reply.row);
    if (streaming.length > 0) {
      await tx.query(
        `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, in_reply_to, model, params, created_at, seq, parent_id)
         SELECT v.message_id, v.conversation_id, v.owner_id, 'assistant', '', 'streaming', v.in_reply_to, v.model, v.params::jsonb,
           v.at::timestamptz, v.seq::bigint, v.in_reply_to
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS v(message_id, conversation_id, owner_id, in_reply_to, model, params, at, seq)
         ON CONFLICT (message_id) DO UPDATE SET in_reply_to = excluded.in_reply_to, created_at = excluded.created_at, seq = excluded.seq,
           parent_id = excluded.parent_id
         WHERE messages.conversation_id = excluded.conversation_id`,
        columns(streaming, 8),
      );
    }
    const finished = [...this.replies.values()].filter((reply) => reply.finish !== null);
    if (finished.length > 0) {
      // A new row is written finished, as the start's insert and the end's UPDATE would leave it. A row
      // that was there (a re-run) takes the start's conflict update here and the end's UPDATE below.
      const { rows } = await tx.query<{ message_id: string; inserted: boolean }>(
        `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, in_reply_to, model, params, created_at, seq, parent_id,
           latency_ms, usage, time_to_first_token_ms, finish_reason, error_code, error_message, completed_at, sources, provenance)
         SELECT v.message_id, v.conversation_id, v.owner_id, 'assistant', v.content, v.status, v.in_reply_to, COALESCE(v.end_model, v.model),
           COALESCE(v.end_params::jsonb, v.params::jsonb), v.at::timestamptz, v.seq::bigint, v.in_reply_to,
           v.latency_ms::int, v.usage::jsonb, v.ttft_ms::int, v.finish_reason, v.error_code, v.error_message, v.end_at::timestamptz,
           v.sources::jsonb, v.provenance::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
                     $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
           AS v(message_id, conversation_id, owner_id, in_reply_to, model, params, at, seq,
                status, content, latency_ms, usage, ttft_ms, finish_reason, error_code, error_message, end_at,
                end_model, end_params, sources, provenance)
         ON CONFLICT (message_id) DO UPDATE SET in_reply_to = excluded.in_reply_to, created_at = excluded.created_at, seq = excluded.seq,
           parent_id = excluded.parent_id
         WHERE messages.conversation_id = excluded.conversation_id
         RETURNING message_id, (xmax = 0) AS inserted`,
        // The end's row without its conversation and reply ids, which are the start's.
        columns(finished.map((reply) => [...reply.row, ...reply.finish!.slice(2)]), 21),
      );
      const conflicted = new Set(rows.filter((row) => !row.inserted).map((row) => row.message_id));
      for (const reply of finished) if (conflicted.has(reply.row[0] as string)) this.finishes.push(reply.finish!);
    }
    if (this.imported.length > 0) {
      await tx.query(
        `INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, model, created_at, completed_at, seq, parent_id)
         SELECT v.message_id, v.conversation_id, v.owner_id, v.role, v.content, 'complete', v.model, v.created_at::timestamptz,
           v.created_at::timestamptz, v.seq::bigint,
           ${PARENT_FROM_LEAF}
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS v(message_id, conversation_id, owner_id, role, content, model, created_at, seq, leaf, started)
         ON CONFLICT (message_id) DO UPDATE SET content = excluded.content, model = excluded.model, created_at = excluded.created_at,
           completed_at = excluded.completed_at, seq = excluded.seq
         WHERE messages.conversation_id = excluded.conversation_id`,
        columns(this.imported, 10),
      );
    }
    if (this.conversations.size > 0) {
      // Written after the messages, so a new row takes its leaf, count and times at once instead of an
      // UPDATE; a row that was there (a re-run) gets the start's fields here and the UPDATE below.
      const rows = [...this.conversations].map(([id, row]): Cell[] => {
        const touch = this.touches.get(id);
        return [...row, touch !== undefined, touch?.leaf ?? null, touch?.updatedAt ?? null, touch?.messageAt ?? null];
      });
      const { rows: written } = await tx.query<{ conversation_id: string; inserted: boolean }>(
        `INSERT INTO conversations (conversation_id, owner_id, title, model, system_prompt, params, archived, message_count,
           created_at, updated_at, last_message_at, active_leaf_id)
         SELECT v.conversation_id, v.owner_id, v.title, v.model, v.system_prompt, v.params::jsonb, false,
           CASE WHEN v.touched::boolean THEN (SELECT count(*) FROM messages m WHERE m.conversation_id = v.conversation_id) ELSE 0 END,
           v.at::timestamptz,
           CASE WHEN v.touched::boolean THEN GREATEST(v.at::timestamptz, v.updated_at::timestamptz) ELSE v.at::timestamptz END,
           v.message_at::timestamptz, v.leaf
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
           AS v(conversation_id, owner_id, title, model, system_prompt, params, at, touched, leaf, updated_at, message_at)
         ON CONFLICT (conversation_id) DO UPDATE SET owner_id = excluded.owner_id, title = excluded.title, model = excluded.model,
           system_prompt = excluded.system_prompt, params = excluded.params, created_at = excluded.created_at
         RETURNING conversation_id, (xmax = 0) AS inserted`,
        columns(rows, 11),
      );
      for (const row of written) if (row.inserted) this.touches.delete(row.conversation_id);
    }
    if (this.finishes.length > 0) {
      await tx.query(
        `UPDATE messages m SET status = v.status, content = v.content, latency_ms = v.latency_ms::int, usage = v.usage::jsonb,
           time_to_first_token_ms = v.ttft_ms::int, finish_reason = v.finish_reason, error_code = v.error_code, error_message = v.error_message,
           completed_at = v.at::timestamptz, model = COALESCE(v.model, m.model), params = COALESCE(v.params::jsonb, m.params),
           sources = v.sources::jsonb, provenance = v.provenance::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
           AS v(conversation_id, reply_id, status, content, latency_ms, usage, ttft_ms, finish_reason, error_code, error_message, at,
                model, params, sources, provenance)
         WHERE m.message_id = v.reply_id AND m.conversation_id = v.conversation_id`,
        columns(this.finishes, 15),
      );
    }
    if (this.touches.size > 0) {
      const rows = [...this.touches].map(([id, t]): Cell[] => [id, t.leaf, t.updatedAt, t.messageAt]);
      await tx.query(
        `UPDATE conversations c SET
           active_leaf_id = COALESCE(v.leaf, c.active_leaf_id),
           message_count = (SELECT count(*) FROM messages WHERE messages.conversation_id = c.conversation_id),
           updated_at = GREATEST(c.updated_at, v.updated_at::timestamptz),
           last_message_at = GREATEST(c.last_message_at, v.message_at::timestamptz)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(conversation_id, leaf, updated_at, message_at)
         WHERE c.conversation_id = v.conversation_id`,
        columns(rows, 4),
      );
    }
    this.conversations.clear();
    this.userMessages = [];
    this.replies.clear();
    this.imported = [];
    this.finishes = [];
    this.ids.clear();
    this.finishedIds.clear();
    this.touches.clear();
  }
}

/** A reply's end as handle() writes it (finishReply): the same fields for each of the four ends. */
function finishRow(recorded: RecordedEvent, status: string): Cell[] {
  const d = recorded.data as Data;
  const complete = status === 'complete';
  const content = complete ? personalField(recorded, 'text', d.text as string) : personalField(recorded, 'partialText', d.partialText as string);
  const interrupted = status === 'interrupted';
  const text = (value: unknown) => (value === undefined || value === null ? null : String(value));
  return [
    d.conversationId as string, d.replyId as string, status, (content ?? null) as Cell,
    interrupted ? null : text(ms(d.latencyMs as number)), complete ? json(d.usage) : null, complete ? text(ms(d.timeToFirstTokenMs as number)) : null,
    complete ? text(d.finishReason) : null, status === 'failed' ? text(d.errorCode) : null, status === 'failed' ? text(d.errorMessage) : null,
    recorded.metadata.occurredAt, complete ? text(d.model) : null, complete ? json(d.params) : null,
    JSON.stringify(complete && Array.isArray(d.sources) ? d.sources : []), interrupted ? null : json(d.provenance),
  ];
}

/** Rows as one text array per column, for unnest(). */
function columns(rows: readonly Cell[][], width: number): (string | null)[][] {
  return Array.from({ length: width }, (_, column) => rows.map((row) => {
    const value = row[column];
    return value === null || value === undefined ? null : String(value);
  }));
}
