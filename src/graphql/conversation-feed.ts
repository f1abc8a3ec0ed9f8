import { conversationStream, type ConversationEvent } from '../domain/conversation/conversation.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { clientError } from './errors.ts';

/** One item of a conversation's live feed, as published on the pub/sub and as replayed from the log. */
export interface FeedItem {
  kind: string;
  conversationId: string;
  messageId?: string;
  replyId?: string;
  inReplyTo?: string;
  delta?: string;
  offset?: number;
  errorCode?: string;
  errorMessage?: string;
  /** Log position (decimal) of the event behind a durable item; absent for DELTA. */
  position?: string;
}

/** Where a subscriber stands: the last durable event it got, and how much of the current reply's text. */
export interface FeedCursor {
  position: bigint;
  replyId: string | null;
  offset: number;
}

export const TERMINAL_KINDS = new Set(['CONVERSATION_DELETED']);

export function encodeFeedCursor(cursor: FeedCursor): string {
  return Buffer.from(JSON.stringify([cursor.position.toString(), cursor.replyId, cursor.offset])).toString('base64url');
}

export function decodeFeedCursor(raw: string): FeedCursor {
  try {
    const parts: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === 3 && typeof parts[0] === 'string' && /^\d{1,19}$/.test(parts[0])
      && (parts[1] === null || (typeof parts[1] === 'string' && parts[1].length <= 64))
      && Number.isSafeInteger(parts[2]) && (parts[2] as number) >= 0) {
      return { position: BigInt(parts[0]), replyId: parts[1] as string | null, offset: parts[2] as number };
    }
  } catch { /* fall through */ }
  throw clientError('BAD_USER_INPUT', 'Invalid cursor: pass the `cursor` of the last event you received');
}

const REPLAYED: Partial<Record<ConversationEvent['type'], string>> = {
  UserMessageSent: 'MESSAGE_ADDED',
  AssistantReplyStarted: 'REPLY_STARTED',
  AssistantReplyCompleted: 'REPLY_COMPLETED',
  AssistantReplyCancelled: 'REPLY_CANCELLED',
  AssistantReplyFailed: 'REPLY_FAILED',
  AssistantReplyInterrupted: 'REPLY_INTERRUPTED',
  ConversationDeleted: 'CONVERSATION_DELETED',
  ConversationBranchSwitched: 'BRANCH_SWITCHED',
};

/**
 * What a resuming subscriber missed, from the log (the durable record; live deltas were never
 * stored): the feed items of the conversation's events after `after`, in order.
 */
export async function missedItems(store: EventStore, conversationId: string, after: bigint): Promise<{
  items: FeedItem[]; streamingReplyId: string | null; upTo: bigint;
}> {
  const events = await store.readStream(conversationStream(conversationId));
  const items: FeedItem[] = [];
  let streamingReplyId: string | null = null;
  for (const event of events) {
    const data = event.data as { messageId?: string; replyId?: string; inReplyTo?: string; errorCode?: string; errorMessage?: string };
    if (event.type === 'AssistantReplyStarted') streamingReplyId = data.replyId ?? null;
    else if (event.type !== 'UserMessageSent' && data.replyId === streamingReplyId) streamingReplyId = null;
    const kind = REPLAYED[event.type as ConversationEvent['type']];
    if (!kind || event.position <= after) continue;
    const item: FeedItem = { kind, conversationId, position: event.position.toString() };
    if (kind === 'MESSAGE_ADDED') item.messageId = data.messageId;
    else if (kind === 'BRANCH_SWITCHED') item.messageId = (event.data as { leafId?: string }).leafId;
    else if (kind !== 'CONVERSATION_DELETED') Object.assign(item, { replyId: data.replyId, messageId: data.replyId });
    if (kind === 'REPLY_STARTED') item.inReplyTo = data.inReplyTo;
    if (kind === 'REPLY_FAILED') Object.assign(item, { errorCode: data.errorCode, errorMessage: data.errorMessage });
    items.push(item);
  }
  if (events.some((e) => e.type === 'ConversationDeleted')) streamingReplyId = null;
  return { items, streamingReplyId, upTo: events.at(-1)?.position ?? 0n };
}

/**
 * Per-subscriber bookkeeping so replayed and live items join without gaps or repeats: a durable item
 * is delivered once (live items the replay from the log already covered are dropped; live items may
 * arrive out of log order, e.g. a reply's start before the message's own announcement), and a
 * reply's text is delivered exactly once as contiguous deltas (overlaps trimmed; a delta beyond what
 * this subscriber has is held back until a resync from offset 0 fills the gap). The cursor names the
 * newest durable item delivered.
 */
export class FeedTracker {
  private position: bigint;
  private replayedUpTo: bigint;
  private readonly delivered = new Set<bigint>();
  private readonly offsets = new Map<string, number>();
  private readonly ended = new Set<string>();
  private lastReplyId: string | null;

  constructor(cursor: FeedCursor | null) {
    this.position = cursor?.position ?? 0n;
    this.replayedUpTo = cursor?.position ?? 0n;
    this.lastReplyId = cursor?.replyId ?? null;
    if (cursor?.replyId) this.offsets.set(cursor.replyId, cursor.offset);
  }

  /** The item to deliver (possibly trimmed), or null to drop it. */
  accept(item: FeedItem): FeedItem | null {
    if (item.kind === 'DELTA') return this.acceptDelta(item);
    const terminal = item.kind.startsWith('REPLY_') && item.kind !== 'REPLY_STARTED';
    // One end per reply, even when two instances announce it (one of them without a position).
    if (terminal && item.replyId && this.ended.has(item.replyId)) return null;
    if (item.position !== undefined) {
      const position = BigInt(item.position);
      if (position <= this.replayedUpTo || this.delivered.has(position)) return null;
      this.delivered.add(position);
      if (position > this.position) this.position = position;
    }
    if (item.kind === 'REPLY_STARTED' && item.replyId && !this.offsets.has(item.replyId)) this.offsets.set(item.replyId, 0);
    if (terminal && item.replyId) this.ended.add(item.replyId);
    return item;
  }

  private acceptDelta(item: FeedItem): FeedItem | null {
    const replyId = item.replyId ?? '';
    const text = item.delta ?? '';
    const offset = item.offset ?? 0;
    const have = this.offsets.get(replyId);
    if (have === undefined) {
      // Joined in the middle of a reply without a cursor: take the stream from here.
      this.offsets.set(replyId, offset + text.length);
      this.lastReplyId = replyId;
      return item;
    }
    if (offset > have) return null;
    if (offset + text.length <= have) return null;
    this.offsets.set(replyId, offset + text.length);
    this.lastReplyId = replyId;
    return offset === have ? item : { ...item, delta: text.slice(have - offset), offset: have };
  }

  /** Everything up to `position` was replayed from the log: live copies of it are repeats. */
  replayed(position: bigint): void {
    if (position > this.replayedUpTo) this.replayedUpTo = position;
  }

  /** The cursor after everything accepted so far. */
  cursor(): string {
    const replyId = this.lastReplyId;
    return encodeFeedCursor({ position: this.position, replyId, offset: replyId ? this.offsets.get(replyId) ?? 0 : 0 });
  }
}
