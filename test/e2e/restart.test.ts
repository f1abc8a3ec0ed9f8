// Tests 4 and 5: the server process stops in the middle of a reply, on the embedded default (SQLite +
// PGlite in one DATA_DIR), and starts again on the same DATA_DIR.
//  - kill -9: nothing acknowledged is lost (the user's message is there), and the reactor of the new
//    process marks the orphaned reply INTERRUPTED with the text stored while it streamed.
//  - SIGTERM: the process exits 0 within a bound; the reactor recorded the reply as INTERRUPTED with the
//    partial text on the way out.
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conversationMessages, eventually, expectedReply, LONG_QUESTION, removeTempDirs, replyUnderway, signUp, SLOW_MODEL, startFakeProvider,
  startServer, stopAllProcesses, tempDir, type MessageView, type ProviderProcess, type ReplyUnderway, type ServerProcess,
} from './support.ts';

let provider: ProviderProcess;

beforeAll(async () => {
  provider = await startFakeProvider();
});

afterAll(async () => {
  try {
    await provider?.stop();
  } finally {
    await stopAllProcesses();
    removeTempDirs();
  }
});

/** Starts a server on `dataDir` with a reply to LONG_QUESTION half-way through. */
async function replyInProgress(dataDir: string): Promise<ReplyUnderway & { server: ServerProcess; token: string }> {
  const server = await startServer({ dataDir, providerUrl: provider.url });
  const { token } = await signUp(server.url);
  const underway = await replyUnderway(server, server, token);
  const before = await conversationMessages(server.url, token, underway.conversationId);
  expect(before.find((m) => m.id === underway.replyId)).toMatchObject({ status: 'STREAMING', inReplyTo: underway.sent.id });
  return { ...underway, server, token };
}

/** The reply once it has left STREAMING (the new process's reactor records interruptions shortly after start). */
function finishedReply(server: ServerProcess, token: string, conversationId: string, replyId: string): Promise<MessageView> {
  return eventually(async () => {
    const reply = (await conversationMessages(server.url, token, conversationId)).find((m) => m.id === replyId);
    return reply && reply.status !== 'STREAMING' ? reply : undefined;
  }, `reply ${replyId} leaves STREAMING after the restart`);
}

/** Event types of one stream, straight from the SQLite log. */
function loggedTypes(dataDir: string, stream: string): string[] {
  const db = new DatabaseSync(join(dataDir, 'events.sqlite'), { readOnly: true });
  try {
    return db.prepare('SELECT type FROM events WHERE stream = ? ORDER BY position').all(stream).map((row) => String(row.type));
  } finally {
    db.close();
  }
}

/** The warm-up exchange every replyInProgress starts with, then the message under test and its reply. */
const LOGGED_BEFORE_STOP = [
  'ConversationStarted', 'UserMessageSent', 'AssistantReplyStarted', 'AssistantReplyCompleted', 'UserMessageSent', 'AssistantReplyStarted',
];

describe('e2e: restarting the embedded default in the middle of a reply', () => {
  it('after kill -9, every acknowledged event is still there and the reply is INTERRUPTED', async () => {
    const dataDir = tempDir();
    const first = await replyInProgress(dataDir);
    // The text streamed so far is kept durable while it streams (at most about a second behind).
    const stored = await eventually(async () => {
      const reply = (await conversationMessages(first.server.url, first.token, first.conversationId)).find((m) => m.id === first.replyId);
      return reply?.status === 'STREAMING' && reply.content ? reply.content : undefined;
    }, 'the streaming reply to have stored text');
    try {
      expect(await first.server.kill9()).toEqual({ code: null, signal: 'SIGKILL' });
    } finally {
      await first.feed.close();
    }

    const second = await startServer({ dataDir, providerUrl: provider.url });
    try {
      // The session survived the crash too: the same token works on the new process.
      const reply = await finishedReply(second, first.token, first.conversationId, first.replyId);
      expect(reply).toMatchObject({ role: 'ASSISTANT', status: 'INTERRUPTED', inReplyTo: first.sent.id, model: SLOW_MODEL });
      // The text that was durable when the process died is kept: at least what was stored, only part of the answer.
      const full = expectedReply(LONG_QUESTION);
      expect(reply.content!.startsWith(stored)).toBe(true);
      expect(full.startsWith(reply.content!)).toBe(true);
      expect(reply.content!.length).toBeLessThan(full.length);

      const messages = await conversationMessages(second.url, first.token, first.conversationId);
      expect(messages.map((m) => [m.role, m.status])).toEqual([
        ['USER', 'COMPLETE'], ['ASSISTANT', 'COMPLETE'], ['USER', 'COMPLETE'], ['ASSISTANT', 'INTERRUPTED'],
      ]);
      expect(messages[2]).toMatchObject({ id: first.sent.id, content: LONG_QUESTION });
      expect(second.logs().some((line) => line.msg.startsWith('reply marked interrupted') && line.replyId === first.replyId)).toBe(true);
    } finally {
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    }
    // The log itself, read after both processes are gone.
    expect(loggedTypes(dataDir, `conversation-${first.conversationId}`)).toEqual([...LOGGED_BEFORE_STOP, 'AssistantReplyInterrupted']);
  });

  it('on SIGTERM, exits 0 within a bound, and after a restart the reply is INTERRUPTED with its partial text', async () => {
    const dataDir = tempDir();
    const first = await replyInProgress(dataDir);
    try {
      // stop() sends SIGTERM and fails if the process has not exited within STOP_TIMEOUT_MS.
      expect(await first.server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await first.feed.close();
    }
    const logged = first.server.logs().map((line) => line.msg);
    expect(logged).toContain('stopped');
    expect(logged).not.toContain('shutdown took too long; exiting');

    // Recorded by the stopping process itself, before anything restarts.
    expect(loggedTypes(dataDir, `conversation-${first.conversationId}`)).toEqual([...LOGGED_BEFORE_STOP, 'AssistantReplyInterrupted']);

    const second = await startServer({ dataDir, providerUrl: provider.url });
    try {
      const reply = await finishedReply(second, first.token, first.conversationId, first.replyId);
      expect(reply).toMatchObject({ role: 'ASSISTANT', status: 'INTERRUPTED', inReplyTo: first.sent.id });
      // The partial text: at least what the subscriber saw, and only part of the full answer.
      const full = expectedReply(LONG_QUESTION);
      expect(reply.content!.startsWith(first.seen)).toBe(true);
      expect(full.startsWith(reply.content!)).toBe(true);
      expect(reply.content!.length).toBeLessThan(full.length);
      const messages = await conversationMessages(second.url, first.token, first.conversationId);
      expect(messages.find((m) => m.id === first.sent.id)).toMatchObject({ status: 'COMPLETE', content: LONG_QUESTION });
      // Nothing was left for the new process to interrupt.
      expect(second.logs().some((line) => line.msg.startsWith('reply marked interrupted'))).toBe(false);
    } finally {
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    }
  });
});
