// conversationsProjection.handleBatch must give exactly the rows handle() gives event by event: checked
// on generated event sequences (starts, messages with and without parents, replies and their four
// ends, imports, repeated ids, messages before their conversation, deletes, renames, branch switches,
// erased personal fields, out-of-order times) in two PGlite databases side by side.
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { conversationsProjection } from '../../src/projections/conversations-projection.ts';

const MIGRATIONS = ['0002_users.sql', '0004_conversations.sql', '0008_reply_sources.sql', '0011_reply_provenance.sql', '0014_conversation_branches.sql'];
let one: PGlite;
let batched: PGlite;

beforeAll(async () => {
  one = new PGlite();
  batched = new PGlite();
  for (const name of MIGRATIONS) {
    const sql = await readFile(new URL(`../../migrations/${name}`, import.meta.url), 'utf8');
    await one.exec(sql);
    await batched.exec(sql);
  }
});
afterAll(async () => {
  await one?.close();
  await batched?.close();
});

const CONVERSATIONS = ['c1', 'c2', 'c3'];
const MESSAGES = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'r1', 'r2', 'r3'];
const END_TYPES = ['AssistantReplyCompleted', 'AssistantReplyCancelled', 'AssistantReplyFailed', 'AssistantReplyInterrupted'] as const;
const OTHER_TYPES = ['ConversationRenamed', 'ConversationDeleted', 'ConversationArchived', 'ConversationTagged', 'ConversationModelChanged'] as const;

type Step =
  | { type: 'ConversationStarted' | 'ConversationImported'; conversation: number; erased: boolean }
  | { type: 'UserMessageSent'; conversation: number; message: number; parent: number | null; erased: boolean }
  | { type: 'AssistantReplyStarted'; conversation: number; message: number; inReplyTo: number }
  | { type: 'ConversationMessageImported'; conversation: number; message: number; createdAt: boolean }
  | { type: (typeof END_TYPES)[number]; conversation: number; message: number; erased: boolean }
  | { type: 'ConversationBranchSwitched'; conversation: number; message: number }
  | { type: (typeof OTHER_TYPES)[number]; conversation: number };

const conversation = fc.nat(CONVERSATIONS.length - 1);
const message = fc.nat(5); // m1…m6: few, so ids repeat
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ type: fc.constantFrom('ConversationStarted' as const, 'ConversationImported' as const), conversation, erased: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('UserMessageSent' as const), conversation, message, parent: fc.option(message), erased: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('AssistantReplyStarted' as const), conversation, message, inReplyTo: message }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('ConversationMessageImported' as const), conversation, message, createdAt: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constantFrom(...END_TYPES), conversation, message, erased: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('ConversationBranchSwitched' as const), conversation, message }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom(...OTHER_TYPES), conversation }) },
);

function dataOf(s: Step, i: number): { data: Record<string, unknown>; erasedFields?: string[] } {
  const conversationId = CONVERSATIONS[s.conversation]!;
  const base = { conversationId, ownerId: 'u1' };
  switch (s.type) {
    case 'ConversationStarted':
      return { data: { ...base, title: `Title ${i}`, model: 'm', systemPrompt: `Prompt ${i}`, params: { temperature: i / 10 } },
        ...(s.erased ? { erasedFields: ['title', 'systemPrompt'] } : {}) };
    case 'ConversationImported':
      return { data: { ...base, title: `Imported ${i}`, model: 'm', source: 'openwebui' }, ...(s.erased ? { erasedFields: ['title'] } : {}) };
    case 'UserMessageSent':
      return { data: { ...base, messageId: MESSAGES[s.message], content: `Hello ${i}`, ...(s.parent === null ? {} : { parentId: MESSAGES[s.parent] }) },
        ...(s.erased ? { erasedFields: ['content'] } : {}) };
    case 'AssistantReplyStarted':
      return { data: { ...base, replyId: MESSAGES[s.message], inReplyTo: MESSAGES[s.inReplyTo], model: `model-${i}`, params: { maxTokens: i } } };
    case 'ConversationMessageImported':
      return { data: { ...base, messageId: MESSAGES[s.message], role: i % 2 ? 'user' : 'assistant', content: `Imported ${i}`, model: 'm',
        ...(s.createdAt ? { createdAt: new Date(Date.UTC(2024, 5, 1, 0, 0, i)).toISOString() } : {}) } };
    case 'AssistantReplyCompleted':
      return { data: { ...base, replyId: MESSAGES[s.message], text: `Answer ${i}`, latencyMs: i * 10.4, timeToFirstTokenMs: i + 0.6,
        usage: { promptTokens: i, completionTokens: 1 }, finishReason: 'stop', model: i % 3 ? `final-${i}` : undefined,
        params: i % 2 ? { temperature: 1 } : undefined, sources: i % 2 ? [{ documentId: 'd', chunk: i }] : undefined,
        provenance: { promptHash: `h${i}` } }, ...(s.erased ? { erasedFields: ['text'] } : {}) };
    case 'AssistantReplyCancelled':
      return { data: { ...base, replyId: MESSAGES[s.message], partialText: `Part ${i}`, latencyMs: i, provenance: i % 2 ? { promptHash: 'p' } : undefined },
        ...(s.erased ? { erasedFields: ['partialText'] } : {}) };
    case 'AssistantReplyFailed':
      return { data: { ...base, replyId: MESSAGES[s.message], partialText: `Part ${i}`, latencyMs: i, errorCode: 'PROVIDER_ERROR', errorMessage: `Failed ${i}` },
        ...(s.erased ? { erasedFields: ['partialText'] } : {}) };
    case 'AssistantReplyInterrupted':
      return { data: { ...base, replyId: MESSAGES[s.message], partialText: `Part ${i}` }, ...(s.erased ? { erasedFields: ['partialText'] } : {}) };
    case 'ConversationBranchSwitched':
      return { data: { ...base, leafId: MESSAGES[s.message] } };
    case 'ConversationRenamed':
      return { data: { ...base, title: `Renamed ${i}` } };
    case 'ConversationTagged':
      return { data: { ...base, tag: `tag${i % 2}` } };
    case 'ConversationModelChanged':
      return { data: { ...base, model: `changed-${i}` } };
    default:
      return { data: base };
  }
}

function recorded(steps: Step[], shuffledTimes: number[]): RecordedEvent[] {
  return steps.map((s, i) => {
    const position = BigInt(i + 1);
    // Times mostly move forward; some go back (clocks of several instances), which GREATEST must absorb.
    const occurredAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i - (shuffledTimes[i] ?? 0))).toISOString();
    const { data, erasedFields } = dataOf(s, i);
    return {
      id: `e${i}`, stream: `conversation-${data.conversationId as string}`, revision: position, position, type: s.type, schemaVersion: 1, data,
      metadata: { actorId: 'u1', correlationId: 'c', causationId: null, requestId: null, occurredAt }, ...(erasedFields ? { erasedFields } : {}),
    };
  });
}

const snapshot = async (db: PGlite) => ({
  conversations: (await db.query('SELECT * FROM conversations ORDER BY conversation_id')).rows,
  messages: (await db.query('SELECT * FROM messages ORDER BY message_id')).rows,
});

/** Both databases start from the same rows: the given events applied one by one. */
async function seed(events: RecordedEvent[]): Promise<void> {
  for (const db of [one, batched]) {
    await db.exec('TRUNCATE conversations, messages');
    await db.transaction(async (tx) => { for (const event of events) await conversationsProjection.handle(event, tx as unknown as SqlExecutor); });
  }
}

describe('conversationsProjection.handleBatch (unit)', () => {
  it('writes exactly what handle() writes event by event', async () => {
    const sequence = fc.array(step, { minLength: 1, maxLength: 40 });
    await fc.assert(fc.asyncProperty(sequence, fc.array(fc.nat(3), { minLength: 40, maxLength: 40 }), fc.nat(12), async (steps, times, seedLength) => {
      const events = recorded(steps, times);
      // Some of the events were applied before (rows already there, as after a restart mid-way or a re-run).
      await seed(events.slice(0, Math.min(seedLength, events.length - 1)).filter((_, i) => i % 2 === 0));
      let failedOne = false;
      try {
        await one.transaction(async (tx) => { for (const event of events) await conversationsProjection.handle(event, tx as unknown as SqlExecutor); });
      } catch {
        failedOne = true;
      }
      let failedBatch = false;
      try {
        await batched.transaction((tx) => conversationsProjection.handleBatch!(events, tx as unknown as SqlExecutor));
      } catch {
        failedBatch = true;
      }
      expect(failedBatch).toBe(failedOne);
      expect(await snapshot(batched)).toEqual(await snapshot(one));
    }), {
      numRuns: Number(process.env.RUNS ?? 200),
      examples: [
        // A message whose time is before its conversation's start (another instance's clock): updated_at stays the start's.
        [[{ type: 'ConversationStarted', conversation: 1, erased: false }, { type: 'UserMessageSent', conversation: 1, message: 1, parent: null, erased: false }], [0, 2], 0],
      ],
    });
  });

  it('writes whole conversations in a few statements, not several per event', async () => {
    await seed([]);
    const steps: Step[] = [];
    for (const [c] of CONVERSATIONS.entries()) {
      steps.push({ type: 'ConversationStarted', conversation: c, erased: false });
      for (let m = c * 2; m < c * 2 + 2; m += 1) {
        steps.push({ type: 'UserMessageSent', conversation: c, message: m, parent: null, erased: false });
      }
    }
    for (const [c] of CONVERSATIONS.entries()) {
      steps.push({ type: 'AssistantReplyStarted', conversation: c, message: 6 + c, inReplyTo: c * 2 + 1 });
      steps.push({ type: 'AssistantReplyCompleted', conversation: c, message: 6 + c, erased: false });
    }
    const events = recorded(steps, []);
    const statements: string[] = [];
    await batched.transaction(async (tx) => {
      const counting = { query: (sql: string, params?: unknown[]) => { statements.push(sql); return tx.query(sql, params); }, exec: (sql: string) => tx.exec(sql) };
      await conversationsProjection.handleBatch!(events, counting as unknown as SqlExecutor);
    });
    // One statement each for the user messages, the replies (inserted finished: their ends are in the batch too)
    // and the conversations (inserted last, with their leaves, counts and times), where handle() makes 3 + 6 * 3 + 3 * 3 + 3 * 2.
    expect(statements).toHaveLength(3);
    expect((await batched.query('SELECT conversation_id, message_count::int AS n, active_leaf_id FROM conversations ORDER BY 1')).rows).toEqual([
      { conversation_id: 'c1', n: 3, active_leaf_id: 'r1' }, { conversation_id: 'c2', n: 3, active_leaf_id: 'r2' },
      { conversation_id: 'c3', n: 3, active_leaf_id: 'r3' }]);
    expect((await batched.query(`SELECT message_id, parent_id, status FROM messages WHERE conversation_id = 'c2' ORDER BY seq`)).rows).toEqual([
      { message_id: 'm3', parent_id: null, status: 'complete' }, { message_id: 'm4', parent_id: 'm3', status: 'complete' },
      { message_id: 'r2', parent_id: 'm4', status: 'complete' }]);
  });
});
