// The chat thread's state as the live feed and the queries change it (web/src/pages/chat/thread-state.ts).
import { describe, expect, it } from 'vitest';
import type { ChatMessage, ConversationEvent } from '../../web/src/pages/chat/operations.ts';
import { applyEvents, emptyThread, withLoaded, withMessage } from '../../web/src/pages/chat/thread-state.ts';

let seq = 0;
function message(fields: Partial<ChatMessage> & { id: string }): ChatMessage {
  return {
    role: 'ASSISTANT', status: 'COMPLETE', content: '', createdAt: '2026-12-01T00:00:00.000Z', completedAt: null, model: null, errorCode: null,
    errorMessage: null, finishReason: null, latencyMs: null, timeToFirstTokenMs: null, usage: null, parameters: null, sources: [], ...fields,
  };
}
function event(fields: Partial<ConversationEvent> & { kind: ConversationEvent['kind'] }): ConversationEvent {
  return { cursor: `c${++seq}`, messageId: null, replyId: null, delta: null, offset: null, errorCode: null, errorMessage: null, message: null, ...fields };
}
const delta = (replyId: string, text: string, offset: number) => event({ kind: 'DELTA', replyId, delta: text, offset });

describe('chat thread state (unit)', () => {
  it('given a streaming reply, when deltas arrive in order, then its text grows and the cursor follows', () => {
    const state = applyEvents(emptyThread, [
      event({ kind: 'REPLY_STARTED', message: message({ id: 'r', status: 'STREAMING' }) }),
      delta('r', 'Hel', 0), delta('r', 'lo', 3),
    ]);
    expect(state.messages).toMatchObject([{ id: 'r', status: 'STREAMING', content: 'Hello' }]);
    expect(state.cursor).toBe(`c${seq}`);
  });

  it('given text already shown, when a resumed feed replays deltas, then nothing is added twice', () => {
    const shown = applyEvents(emptyThread, [delta('r', 'Hello', 0)]);
    const replayed = applyEvents(shown, [delta('r', 'llo wor', 2), delta('r', 'ld', 9)]);
    expect(replayed.messages[0]!.content).toBe('Hello world');
  });

  it('given a gap in the deltas, when the reply completes, then the stored text replaces the partial one', () => {
    const gap = applyEvents(emptyThread, [delta('r', 'Hel', 0), delta('r', 'world', 6)]);
    expect(gap.messages[0]!.content).toBe('Hel');
    const done = applyEvents(gap, [event({ kind: 'REPLY_COMPLETED', message: message({ id: 'r', content: 'Hello world' }) })]);
    expect(done.messages[0]).toMatchObject({ status: 'COMPLETE', content: 'Hello world' });
  });

  it('given a finished reply, when a late delta or streaming snapshot arrives, then it stays finished', () => {
    const done = applyEvents(emptyThread, [event({ kind: 'REPLY_CANCELLED', message: message({ id: 'r', status: 'CANCELLED', content: 'Hel' }) })]);
    const late = applyEvents(done, [delta('r', 'lo', 3), event({ kind: 'REPLY_STARTED', message: message({ id: 'r', status: 'STREAMING' }) })]);
    expect(late.messages[0]).toMatchObject({ status: 'CANCELLED', content: 'Hel' });
  });

  it('given a loaded page, when older messages load, then they go first without duplicates', () => {
    const loaded = withLoaded(emptyThread, [message({ id: 'b' }), message({ id: 'c' })], false);
    const older = withLoaded(loaded, [message({ id: 'a' }), message({ id: 'b' })], true);
    expect(older.messages.map((m) => m.id)).toEqual(['a', 'b', 'c']);
  });

  it('given older pages shown, when the latest page is reloaded after a send, then the order stays the conversation’s', () => {
    const latest = withLoaded(emptyThread, [message({ id: 'c' }), message({ id: 'd' })], false);
    const shown = withLoaded(latest, [message({ id: 'a' }), message({ id: 'b' })], true);
    const sent = withMessage(shown, message({ id: 'e', role: 'USER' }));
    // The reloaded page is the last two: the question just sent and its reply, which the feed has not brought yet.
    const reloaded = withLoaded(sent, [message({ id: 'd' }), message({ id: 'e', role: 'USER' }), message({ id: 'f', status: 'STREAMING' })], false);
    expect(reloaded.messages.map((m) => m.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('given a page that shares nothing with what is shown, when it loads, then the times place what is shown', () => {
    const shown = withLoaded(emptyThread, [message({ id: 'a', createdAt: '2026-12-01T00:00:01.000Z' }), message({ id: 'z', createdAt: '2026-12-01T00:00:09.000Z' })], false);
    const reloaded = withLoaded(shown, [message({ id: 'm', createdAt: '2026-12-01T00:00:05.000Z' })], false);
    expect(reloaded.messages.map((m) => m.id)).toEqual(['a', 'm', 'z']);
  });

  it('given a branch switch, when the latest page is reloaded, then the other branch’s messages go and a streaming reply stays', () => {
    const shown = withLoaded(emptyThread, [message({ id: 'a' }), message({ id: 'old' }), message({ id: 'r', status: 'STREAMING' })], false);
    const switched = applyEvents(shown, [event({ kind: 'BRANCH_SWITCHED' })]);
    const reloaded = withLoaded(switched, [message({ id: 'a' }), message({ id: 'new' })], false);
    expect(reloaded.messages.map((m) => m.id)).toEqual(['a', 'new', 'r']);
    expect(reloaded.stale).toBe(false);
  });

  it('given live text, when a query answers with an older snapshot of the streaming reply, then the longer text stays', () => {
    const live = applyEvents(emptyThread, [delta('r', 'Hello there', 0)]);
    const refetched = withLoaded(live, [message({ id: 'r', status: 'STREAMING', content: 'Hel' })], false);
    expect(refetched.messages[0]!.content).toBe('Hello there');
  });

  it('given a sent message, when the feed brings it too, then it shows once', () => {
    const sent = withMessage(emptyThread, message({ id: 'u', role: 'USER', content: 'hi' }));
    const fed = applyEvents(sent, [event({ kind: 'MESSAGE_ADDED', message: message({ id: 'u', role: 'USER', content: 'hi' }) })]);
    expect(fed.messages).toHaveLength(1);
    expect(fed.cursor).not.toBeNull();
  });

  it('flags a deleted conversation and a branch switch (which needs a refetch)', () => {
    expect(applyEvents(emptyThread, [event({ kind: 'CONVERSATION_DELETED' })]).deleted).toBe(true);
    const switched = applyEvents(emptyThread, [event({ kind: 'BRANCH_SWITCHED' })]);
    expect(switched.stale).toBe(true);
    expect(withLoaded(switched, [], false).stale).toBe(false);
  });
});
