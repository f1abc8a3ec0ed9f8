import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/domain/conversation/conversation.ts';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { conversationsProjection } from '../../src/projections/conversations-projection.ts';

const MIGRATIONS = ['0002_users.sql', '0004_conversations.sql', '0008_reply_sources.sql', '0011_reply_provenance.sql', '0014_conversation_branches.sql'];
const ids = { conversationId: 'c1', ownerId: 'u1' };
const params = { temperature: 0.5, maxTokens: 100 };

let db: PGlite;
let tx: SqlExecutor;
let position = 0n;

// One database for the file (starting PGlite is the slow part); every test starts from empty tables.
beforeAll(async () => {
  db = new PGlite();
  for (const name of MIGRATIONS) await db.exec(await readFile(new URL(`../../migrations/${name}`, import.meta.url), 'utf8'));
  tx = db as unknown as SqlExecutor;
});

beforeEach(async () => {
  await db.exec('TRUNCATE conversations, messages');
  position = 0n;
});

afterAll(async () => {
  await db.close();
});

/** A recorded event at the next position, `seconds` after a fixed start time. */
function record(event: ConversationEvent | { type: string; data: unknown }, seconds: number, erasedFields?: string[]): RecordedEvent {
  position += 10n;
  const data = event.data as { conversationId?: string };
  return {
    id: `e${position}`, stream: `conversation-${data.conversationId ?? 'x'}`, revision: position, position,
    type: event.type, schemaVersion: 1, data: event.data,
    metadata: { actorId: 'u1', correlationId: 'corr', causationId: null, requestId: null, occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seconds)).toISOString() },
    ...(erasedFields ? { erasedFields } : {}),
  };
}
const at = (seconds: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, seconds));

/** Applies an event twice: the second run must leave the rows exactly as the first. */
async function applyTwice(recorded: RecordedEvent): Promise<void> {
  await conversationsProjection.handle(recorded, tx);
  const before = await snapshot();
  await conversationsProjection.handle(recorded, tx);
  expect(await snapshot()).toEqual(before);
}

async function snapshot() {
  return {
    conversations: (await db.query<Record<string, unknown>>('SELECT * FROM conversations ORDER BY conversation_id')).rows,
    messages: (await db.query<Record<string, unknown>>('SELECT * FROM messages ORDER BY message_id')).rows,
  };
}

async function conversation(id = 'c1') {
  return (await db.query<Record<string, unknown>>('SELECT * FROM conversations WHERE conversation_id = $1', [id])).rows[0];
}
async function message(id: string) {
  return (await db.query<Record<string, unknown>>('SELECT * FROM messages WHERE message_id = $1', [id])).rows[0];
}

const started = (conversationId = 'c1', ownerId = 'u1'): ConversationEvent => ({
  type: 'ConversationStarted',
  data: { conversationId, ownerId, title: 'Trip', model: 'gpt-4o', systemPrompt: 'Be brief.', params },
});
const sent = (messageId: string, content: string, conversationId = 'c1', ownerId = 'u1'): ConversationEvent =>
  ({ type: 'UserMessageSent', data: { conversationId, ownerId, messageId, content } });
const replyStarted = (replyId: string, inReplyTo: string): ConversationEvent =>
  ({ type: 'AssistantReplyStarted', data: { ...ids, replyId, inReplyTo, model: 'gpt-4o', params } });

describe('conversationsProjection', () => {
  it('declares its tables and events', () => {
    expect(conversationsProjection.tables).toEqual(['conversations', 'messages']);
    expect(conversationsProjection.eventTypes).toContain('ConversationStarted');
    expect(conversationsProjection.eventTypes).toContain('AssistantReplyInterrupted');
  });

  it('ConversationStarted inserts the conversation', async () => {
    await applyTwice(record(started(), 1));
    expect(await conversation()).toEqual({
      conversation_id: 'c1', owner_id: 'u1', title: 'Trip', model: 'gpt-4o', system_prompt: 'Be brief.', params,
      archived: false, message_count: 0, created_at: at(1), updated_at: at(1), last_message_at: null,
      knowledge_base_ids: [], document_ids: [], active_leaf_id: null, pinned: false, tags: [], title_tsv: expect.any(String),
    });
  });

  it('stores erased personal fields as NULL', async () => {
    await applyTwice(record(started(), 1, ['title', 'systemPrompt']));
    expect(await conversation()).toMatchObject({ title: null, system_prompt: null, model: 'gpt-4o' });
    await applyTwice(record(sent('m1', '[erased]'), 2, ['content']));
    expect(await message('m1')).toMatchObject({ content: null, status: 'complete' });
    await applyTwice(record(replyStarted('r1', 'm1'), 3));
    await applyTwice(record({
      type: 'AssistantReplyCompleted',
      data: { ...ids, replyId: 'r1', text: '[erased]', model: 'gpt-4o', params, usage: null, timeToFirstTokenMs: null, latencyMs: 5, finishReason: null },
    }, 4, ['text']));
    expect(await message('r1')).toMatchObject({ content: null, status: 'complete' });
    await applyTwice(record({ type: 'ConversationRenamed', data: { ...ids, title: '[erased]' } }, 5, ['title']));
    expect((await conversation())?.title).toBeNull();
  });

  it('ConversationRenamed, Archived and Unarchived update the conversation', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await applyTwice(record({ type: 'ConversationRenamed', data: { ...ids, title: 'Holiday' } }, 2));
    expect(await conversation()).toMatchObject({ title: 'Holiday', updated_at: at(2), created_at: at(1) });
    await applyTwice(record({ type: 'ConversationArchived', data: ids }, 3));
    expect(await conversation()).toMatchObject({ archived: true, updated_at: at(3) });
    await applyTwice(record({ type: 'ConversationUnarchived', data: ids }, 4));
    expect(await conversation()).toMatchObject({ archived: false, updated_at: at(4) });
  });

  it('UserMessageSent inserts a complete user message and counts it', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    const event = record(sent('m1', '  Hi\n'), 2);
    await applyTwice(event);
    expect(await message('m1')).toEqual({
      message_id: 'm1', conversation_id: 'c1', owner_id: 'u1', role: 'user', content: '  Hi\n', status: 'complete',
      in_reply_to: null, model: null, params: null, usage: null, time_to_first_token_ms: null, latency_ms: null,
      finish_reason: null, error_code: null, error_message: null, created_at: at(2), completed_at: at(2), seq: expect.anything(),
      sources: [], provenance: null, parent_id: null, edited_message_id: null, content_tsv: expect.any(String),
    });
    expect(BigInt((await message('m1'))?.seq as bigint)).toBe(event.position);
    expect(await conversation()).toMatchObject({ message_count: 1, last_message_at: at(2), updated_at: at(2) });
  });

  it('a reply is a streaming row, then completed with text, usage and timings', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    const startedEvent = record(replyStarted('r1', 'm1'), 3);
    await applyTwice(startedEvent);
    expect(await message('r1')).toMatchObject({
      conversation_id: 'c1', owner_id: 'u1', role: 'assistant', content: '', status: 'streaming', in_reply_to: 'm1',
      model: 'gpt-4o', params, created_at: at(3), completed_at: null,
    });
    expect(await conversation()).toMatchObject({ message_count: 2, last_message_at: at(3) });

    const usage = { promptTokens: 10, completionTokens: 5, totalTokens: 15 };
    await applyTwice(record({
      type: 'AssistantReplyCompleted',
      data: { ...ids, replyId: 'r1', text: 'Hello!', model: 'gpt-4o-2024-08-06', params, usage, timeToFirstTokenMs: 120, latencyMs: 900, finishReason: 'stop' },
    }, 5));
    expect(await message('r1')).toMatchObject({
      content: 'Hello!', status: 'complete', model: 'gpt-4o-2024-08-06', params, usage, time_to_first_token_ms: 120, latency_ms: 900,
      finish_reason: 'stop', error_code: null, completed_at: at(5), created_at: at(3),
    });
    expect(await conversation()).toMatchObject({ message_count: 2, updated_at: at(5), last_message_at: at(3) });

    // A re-run of the start after the reply finished leaves it finished.
    await conversationsProjection.handle(startedEvent, tx);
    expect(await message('r1')).toMatchObject({ status: 'complete', content: 'Hello!', model: 'gpt-4o-2024-08-06' });

    const { rows } = await db.query<{ message_id: string }>('SELECT message_id FROM messages WHERE conversation_id = $1 ORDER BY seq', ['c1']);
    expect(rows.map((r) => r.message_id)).toEqual(['m1', 'r1']);
  });

  it('AssistantReplyCancelled keeps the partial text', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    await applyTwice(record({ type: 'AssistantReplyCancelled', data: { ...ids, replyId: 'r1', partialText: 'Hel', latencyMs: 40 } }, 4));
    expect(await message('r1')).toMatchObject({ status: 'cancelled', content: 'Hel', latency_ms: 40, completed_at: at(4), usage: null });
  });

  it('AssistantReplyFailed records the error', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    await applyTwice(record({
      type: 'AssistantReplyFailed',
      data: { ...ids, replyId: 'r1', partialText: 'He', errorCode: 'PROVIDER_ERROR', errorMessage: 'Upstream 500', latencyMs: 70 },
    }, 4, ['partialText']));
    expect(await message('r1')).toMatchObject({
      status: 'failed', content: null, error_code: 'PROVIDER_ERROR', error_message: 'Upstream 500', latency_ms: 70, completed_at: at(4),
    });
  });

  it('AssistantReplyInterrupted keeps the partial text', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    await applyTwice(record({ type: 'AssistantReplyInterrupted', data: { ...ids, replyId: 'r1', partialText: 'H' } }, 4));
    expect(await message('r1')).toMatchObject({ status: 'interrupted', content: 'H', latency_ms: null, completed_at: at(4) });
  });

  it('ConversationDeleted removes the conversation and its messages, and nothing else', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    await conversationsProjection.handle(record(started('c2'), 4), tx);
    await conversationsProjection.handle(record(sent('m2', 'Other', 'c2'), 5), tx);
    await applyTwice(record({ type: 'ConversationDeleted', data: ids }, 6));
    const { conversations, messages } = await snapshot();
    expect(conversations.map((c) => c.conversation_id)).toEqual(['c2']);
    expect(messages.map((m) => m.message_id)).toEqual(['m2']);
  });

  it("UserDataErased removes all of that person's conversations and messages", async () => {
    await conversationsProjection.handle(record(started('c1', 'u1'), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi', 'c1', 'u1'), 2), tx);
    await conversationsProjection.handle(record(started('c2', 'u2'), 3), tx);
    await conversationsProjection.handle(record(sent('m2', 'Yo', 'c2', 'u2'), 4), tx);
    await applyTwice(record({ type: 'UserDataErased', data: { userId: 'u1' } }, 5));
    const { conversations, messages } = await snapshot();
    expect(conversations.map((c) => c.owner_id)).toEqual(['u2']);
    expect(messages.map((m) => m.message_id)).toEqual(['m2']);
  });

  it('lists an owner\'s conversations through the index order', async () => {
    await conversationsProjection.handle(record(started('c1'), 1), tx);
    await conversationsProjection.handle(record(started('c2'), 2), tx);
    await conversationsProjection.handle(record(started('c3', 'u2'), 3), tx);
    const { rows } = await db.query<{ conversation_id: string }>(
      'SELECT conversation_id FROM conversations WHERE owner_id = $1 AND archived = false ORDER BY created_at DESC, conversation_id DESC', ['u1']);
    expect(rows.map((r) => r.conversation_id)).toEqual(['c2', 'c1']);
  });
});

describe('conversationsProjection: cited answers', () => {
  it('ConversationKnowledgeAttached keeps the whole selection on the conversation (none by default)', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    expect(await conversation()).toMatchObject({ knowledge_base_ids: [], document_ids: [] });
    await applyTwice(record({ type: 'ConversationKnowledgeAttached', data: { ...ids, knowledgeBaseIds: ['k1', 'k2'], documentIds: ['d1'] } }, 2));
    expect(await conversation()).toMatchObject({ knowledge_base_ids: ['k1', 'k2'], document_ids: ['d1'], updated_at: at(2) });
    await applyTwice(record({ type: 'ConversationKnowledgeAttached', data: { ...ids, knowledgeBaseIds: [], documentIds: [] } }, 3));
    expect(await conversation()).toMatchObject({ knowledge_base_ids: [], document_ids: [] });
  });

  it("a completed reply keeps its sources; user messages, other endings and version-1 replies have none", async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    expect(await message('m1')).toMatchObject({ sources: [] });
    expect(await message('r1')).toMatchObject({ sources: [] });
    const sources = [
      { n: 1, documentId: 'd1', version: 2, chunkId: 'ch1', page: 3, score: 0.8 },
      { n: 2, documentId: 'd2', version: 1, chunkId: 'ch9', page: null, score: 0.25 },
    ];
    await applyTwice(record({
      type: 'AssistantReplyCompleted',
      data: { ...ids, replyId: 'r1', text: 'See [1].', model: 'gpt-4o', params, usage: null, timeToFirstTokenMs: 1, latencyMs: 2, finishReason: 'stop', sources },
    }, 4));
    expect(await message('r1')).toMatchObject({ status: 'complete', sources });

    await conversationsProjection.handle(record(sent('m2', 'Again'), 5), tx);
    await conversationsProjection.handle(record(replyStarted('r2', 'm2'), 6), tx);
    await applyTwice(record({ type: 'AssistantReplyCancelled', data: { ...ids, replyId: 'r2', partialText: 'S', latencyMs: 4 } }, 7));
    expect(await message('r2')).toMatchObject({ status: 'cancelled', sources: [] });
    // The first reply keeps its sources.
    expect(await message('r1')).toMatchObject({ sources });
  });

  it('a finished reply keeps its provenance; a reply recorded without one (or upcast from v2) has null', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sent('m1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    const provenance = {
      providerModel: 'gpt-4o-2024-08-06', requestedModel: 'gpt-4o', params, systemPromptSha256: null, promptSha256: 'a'.repeat(64),
      inReplyTo: ['m1'], sources: [], provider: { id: 'openai', host: 'api.openai.com' },
    };
    await applyTwice(record({
      type: 'AssistantReplyCompleted',
      data: { ...ids, replyId: 'r1', text: 'Hello', model: 'gpt-4o', params, usage: null, timeToFirstTokenMs: 1, latencyMs: 2, finishReason: 'stop', sources: [], provenance },
    }, 4));
    expect(await message('r1')).toMatchObject({ provenance });
    await conversationsProjection.handle(record(sent('m2', 'Again'), 5), tx);
    await conversationsProjection.handle(record(replyStarted('r2', 'm2'), 6), tx);
    await applyTwice(record({ type: 'AssistantReplyFailed', data: { ...ids, replyId: 'r2', partialText: '', errorCode: 'X', errorMessage: 'x', latencyMs: 4, provenance: null } }, 7));
    expect(await message('r2')).toMatchObject({ status: 'failed', provenance: null });
  });
});

describe('conversationsProjection: the message tree, pins and tags', () => {
  const sentAfter = (parentId: string | null, messageId: string, content: string, editedMessageId: string | null = null): ConversationEvent =>
    ({ type: 'UserMessageSent', data: { ...ids, messageId, content, parentId, editedMessageId } });
  const leaf = async () => (await conversation())?.active_leaf_id;

  it('reads version-1 messages as a linear chain after the active leaf, also when applied twice', async () => {
    await applyTwice(record(started(), 1));
    await applyTwice(record(sent('m1', 'Hi'), 2));
    expect(await message('m1')).toMatchObject({ parent_id: null });
    await applyTwice(record(replyStarted('r1', 'm1'), 3));
    expect(await message('r1')).toMatchObject({ parent_id: 'm1' });
    await applyTwice(record(sent('m2', 'And?'), 4));
    expect(await message('m2')).toMatchObject({ parent_id: 'r1' });
    expect(await leaf()).toBe('m2');
  });

  it('keeps version-2 parents and edits, and moves the active leaf on regeneration and branch switches', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await conversationsProjection.handle(record(sentAfter(null, 'm1', 'Hi'), 2), tx);
    await conversationsProjection.handle(record(replyStarted('r1', 'm1'), 3), tx);
    await applyTwice(record(sentAfter(null, 'm1b', 'Hey', 'm1'), 4));
    expect(await message('m1b')).toMatchObject({ parent_id: null, edited_message_id: 'm1' });
    expect(await leaf()).toBe('m1b');
    await applyTwice(record({ type: 'ConversationBranchSwitched', data: { ...ids, messageId: 'm1', leafId: 'r1' } }, 5));
    expect(await leaf()).toBe('r1');
    await applyTwice(record({ type: 'ReplyRegenerationRequested', data: { ...ids, messageId: 'm1', replyId: 'r1b', previousReplyId: 'r1' } }, 6));
    expect(await leaf()).toBe('m1');
  });

  it('applies mid-way settings, pins and tags (tags case-insensitively unique, erased ones skipped)', async () => {
    await conversationsProjection.handle(record(started(), 1), tx);
    await applyTwice(record({ type: 'ConversationModelChanged', data: { ...ids, model: 'gpt-5' } }, 2));
    await applyTwice(record({ type: 'ConversationParametersChanged', data: { ...ids, params: { topP: 0.5 } } }, 3));
    await applyTwice(record({ type: 'ConversationSystemPromptChanged', data: { ...ids, systemPrompt: 'New' } }, 4));
    expect(await conversation()).toMatchObject({ model: 'gpt-5', params: { topP: 0.5 }, system_prompt: 'New', updated_at: at(4) });
    await applyTwice(record({ type: 'ConversationSystemPromptChanged', data: { ...ids, systemPrompt: '[erased]' } }, 5, ['systemPrompt']));
    expect((await conversation())?.system_prompt).toBeNull();
    await applyTwice(record({ type: 'ConversationPinned', data: ids }, 6));
    expect((await conversation())?.pinned).toBe(true);
    await applyTwice(record({ type: 'ConversationTagged', data: { ...ids, tag: 'Work' } }, 7));
    await applyTwice(record({ type: 'ConversationTagged', data: { ...ids, tag: 'work' } }, 8));
    await applyTwice(record({ type: 'ConversationTagged', data: { ...ids, tag: 'Home' } }, 9));
    await applyTwice(record({ type: 'ConversationTagged', data: { ...ids, tag: '[erased]' } }, 10, ['tag']));
    expect((await conversation())?.tags).toEqual(['Work', 'Home']);
    await applyTwice(record({ type: 'ConversationUntagged', data: { ...ids, tag: 'WORK' } }, 11));
    expect((await conversation())?.tags).toEqual(['Home']);
    await applyTwice(record({ type: 'ConversationUnpinned', data: ids }, 12));
    expect((await conversation())?.pinned).toBe(false);
  });
});

describe('migration 0014 on rows projected before it', () => {
  it('links the existing messages as a linear chain and makes the newest the active leaf', async () => {
    const old = new PGlite();
    try {
      for (const name of MIGRATIONS.slice(0, -1)) await old.exec(await readFile(new URL(`../../migrations/${name}`, import.meta.url), 'utf8'));
      await old.exec(`INSERT INTO conversations (conversation_id, owner_id, title, model, created_at, updated_at) VALUES
          ('c1', 'u1', 'Trip', 'm', now(), now()), ('c2', 'u1', 'Empty', 'm', now(), now());
        INSERT INTO messages (message_id, conversation_id, owner_id, role, content, status, in_reply_to, created_at, seq) VALUES
          ('m1', 'c1', 'u1', 'user', 'Hi', 'complete', NULL, now(), 1),
          ('r1', 'c1', 'u1', 'assistant', 'x', 'failed', 'm1', now(), 2),
          ('m2', 'c1', 'u1', 'user', 'Again', 'complete', NULL, now(), 3),
          ('r2', 'c1', 'u1', 'assistant', 'Ok', 'complete', 'm2', now(), 4)`);
      await old.exec(await readFile(new URL('../../migrations/0014_conversation_branches.sql', import.meta.url), 'utf8'));
      const { rows } = await old.query<{ message_id: string; parent_id: string | null }>('SELECT message_id, parent_id FROM messages ORDER BY seq');
      expect(rows).toEqual([
        { message_id: 'm1', parent_id: null }, { message_id: 'r1', parent_id: 'm1' }, { message_id: 'm2', parent_id: 'r1' }, { message_id: 'r2', parent_id: 'm2' },
      ]);
      const leaves = await old.query<{ conversation_id: string; active_leaf_id: string | null }>('SELECT conversation_id, active_leaf_id FROM conversations ORDER BY 1');
      expect(leaves.rows).toEqual([{ conversation_id: 'c1', active_leaf_id: 'r2' }, { conversation_id: 'c2', active_leaf_id: null }]);
    } finally {
      await old.close();
    }
  });
});
