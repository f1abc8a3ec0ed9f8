import type { ChatMessage, ConversationEvent } from './operations.ts';

export interface ThreadState {
  messages: ChatMessage[];
  /** The cursor of the last event applied: a resumed subscription starts after it. */
  cursor: string | null;
  deleted: boolean;
  /** Set when the feed says something this state cannot follow (a branch switch): refetch. */
  stale: boolean;
}

export const emptyThread: ThreadState = { messages: [], cursor: null, deleted: false, stale: false };

function upsert(messages: ChatMessage[], message: ChatMessage): ChatMessage[] {
  const at = messages.findIndex((m) => m.id === message.id);
  if (at < 0) return [...messages, message];
  const current = messages[at]!;
  // A finished reply never goes back to streaming, and a late event never shortens its text.
  if (current.status !== 'STREAMING' && message.status === 'STREAMING') return messages;
  const next = messages.slice();
  next[at] = message.status === 'STREAMING' && (current.content?.length ?? 0) > (message.content?.length ?? 0) ? { ...message, content: current.content } : message;
  return next;
}

function placeholder(id: string): ChatMessage {
  return {
    id, role: 'ASSISTANT', status: 'STREAMING', content: '', createdAt: new Date().toISOString(), completedAt: null, model: null,
    errorCode: null, errorMessage: null, finishReason: null, latencyMs: null, timeToFirstTokenMs: null, usage: null, parameters: null, sources: [],
  };
}

/** Appends a delta at its offset: text already held (a replayed delta after a reconnect) is not added twice. */
function appendDelta(messages: ChatMessage[], replyId: string, delta: string, offset: number): ChatMessage[] {
  let at = messages.findIndex((m) => m.id === replyId);
  let list = messages;
  if (at < 0) {
    list = [...messages, placeholder(replyId)];
    at = list.length - 1;
  }
  const reply = list[at]!;
  if (reply.status !== 'STREAMING') return messages;
  const content = reply.content ?? '';
  if (offset > content.length) return list; // a gap: the completed reply brings the whole text
  const fresh = delta.slice(content.length - offset);
  if (!fresh) return list;
  const next = list.slice();
  next[at] = { ...reply, content: content + fresh };
  return next;
}

export function applyEvents(state: ThreadState, events: ConversationEvent[]): ThreadState {
  let { messages, deleted, stale } = state;
  let cursor = state.cursor;
  for (const event of events) {
    cursor = event.cursor;
    if (event.kind === 'DELTA') {
      if (event.replyId && event.delta) messages = appendDelta(messages, event.replyId, event.delta, event.offset ?? 0);
    } else if (event.kind === 'CONVERSATION_DELETED') {
      deleted = true;
    } else if (event.kind === 'BRANCH_SWITCHED') {
      stale = true;
    } else if (event.message) {
      messages = upsert(messages, event.message);
    }
  }
  return { messages, cursor, deleted, stale };
}

/**
 * Merges a page of messages into the thread. An older page goes first. A reload of the latest page
 * (the first load, or a refetch after a send) keeps the older pages already shown in front of it and
 * the messages newer than it after it, so the order stays the conversation's. After a branch switch
 * the older pages belong to the other branch: only the page and a still-streaming reply remain.
 */
export function withLoaded(state: ThreadState, loaded: ChatMessage[], older: boolean): ThreadState {
  if (older) {
    const known = new Set(state.messages.map((m) => m.id));
    return { ...state, messages: [...loaded.filter((m) => !known.has(m.id)), ...state.messages] };
  }
  const inPage = new Set(loaded.map((m) => m.id));
  if (state.stale) {
    const streaming = state.messages.filter((m) => !inPage.has(m.id) && m.status === 'STREAMING');
    return { ...state, messages: [...loaded, ...streaming], stale: false };
  }
  const firstShared = state.messages.findIndex((m) => inPage.has(m.id));
  const pageStart = loaded[0]?.createdAt;
  const before: ChatMessage[] = [];
  const after: ChatMessage[] = [];
  state.messages.forEach((message, at) => {
    if (inPage.has(message.id)) return;
    const earlier = firstShared >= 0 ? at < firstShared : pageStart !== undefined && message.createdAt < pageStart;
    (earlier ? before : after).push(message);
  });
  let messages = [...before, ...loaded, ...after];
  for (const message of state.messages) if (inPage.has(message.id)) messages = upsert(messages, message);
  return { ...state, messages, stale: false };
}

/** A message this client just wrote (the feed will bring it too; whichever comes first shows it). */
export function withMessage(state: ThreadState, message: ChatMessage): ThreadState {
  return { ...state, messages: upsert(state.messages, message) };
}
