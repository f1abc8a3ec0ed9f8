import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentCommands } from '../../src/commands/documents.ts';
import { createKnowledgeBaseCommands } from '../../src/commands/knowledge-bases.ts';
import { conversationStream, type ReplySource } from '../../src/domain/conversation/conversation.ts';
import { SOURCES_INSTRUCTIONS } from '../../src/domain/conversation/sources-prompt.ts';
import type { KnowledgeHit, KnowledgeQuery, ReplyKnowledge } from '../../src/projections/reply-knowledge.ts';
import { ReplyReactor } from '../../src/projections/reply-reactor.ts';
import {
  CANCEL, ConversationFeed, newUser, ok, SEND, startConversation, startTestApp, TERMINAL_KINDS, within,
  type FeedEvent, type TestApp, type TestUser,
} from '../graphql/support.ts';
import { testLogger } from './runner.contract.ts';

/** `score` is what the index ranks it with when it matches. */
interface StoredChunk { chunkId: string; page: number | null; headingPath: string[]; text: string; score: number }
interface StoredDocument { ownerId: string; name: string; version: number; chunks: StoredChunk[] }

/**
 * A small in-memory retrieval behind the port (the real one is tested with its indexes): a chunk
 * matches when it shares a word with the question, and ranks by its given score.
 */
class MemoryKnowledge implements ReplyKnowledge {
  readonly documents = new Map<string, StoredDocument>();
  readonly bases = new Map<string, string[]>();
  readonly queries: KnowledgeQuery[] = [];
  mode: 'answer' | 'throw' | 'hang' = 'answer';
  private called: Array<() => void> = [];

  /** Resolves at the next retrieve call. */
  nextCall(): Promise<void> {
    return new Promise((resolve) => this.called.push(resolve));
  }

  async retrieve(query: KnowledgeQuery): Promise<KnowledgeHit[]> {
    this.queries.push(query);
    for (const resolve of this.called.splice(0)) resolve();
    if (this.mode === 'throw') throw new Error(`index unavailable while searching for "${query.question}"`);
    if (this.mode === 'hang') return new Promise(() => {}); // ignores the signal, as a broken adapter might
    const ids = new Set([...query.knowledgeBaseIds.flatMap((id) => this.bases.get(id) ?? []), ...query.documentIds]);
    const words = new Set(query.question.toLowerCase().match(/\w+/g) ?? []);
    const hits: KnowledgeHit[] = [];
    for (const documentId of ids) {
      const document = this.documents.get(documentId);
      if (!document || document.ownerId !== query.ownerId) continue;
      for (const chunk of document.chunks) {
        if ((chunk.text.toLowerCase().match(/\w+/g) ?? []).some((w) => words.has(w))) {
          hits.push({ ...chunk, documentId, version: document.version, documentName: document.name });
        }
      }
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, query.limit);
  }
}

const MESSAGES = `query Messages($id: ID!) {
  conversation(id: $id) {
    knowledgeBaseIds documentIds
    messages(first: 100) { edges { node { id role status content sources { n documentId documentVersion chunkId page score } } } }
  }
}`;
const SET_KNOWLEDGE = `mutation Set($conversationId: ID!, $knowledgeBaseIds: [ID!]!, $documentIds: [ID!]!) {
  setConversationKnowledge(conversationId: $conversationId, knowledgeBaseIds: $knowledgeBaseIds, documentIds: $documentIds) {
    id knowledgeBaseIds documentIds
  }
}`;

interface MessageWithSources {
  id: string; role: string; status: string; content: string | null;
  sources: Array<{ n: number; documentId: string; documentVersion: number; chunkId: string; page: number | null; score: number }>;
}

const sha = (seed: string) => seed.repeat(64).slice(0, 64);

describe('reply reactor with attached knowledge (cited answers)', () => {
  let t: TestApp;
  let user: TestUser;
  let reactor: ReplyReactor;
  let knowledge: MemoryKnowledge;
  let log: ReturnType<typeof testLogger>;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
    await t.app.replies.stop();
    knowledge = new MemoryKnowledge();
    log = testLogger();
    reactor = new ReplyReactor({
      store: t.app.store, readDb: t.app.readDb, projections: t.app.projections, providers: t.app.providers, pubsub: t.app.pubsub,
      logger: log.logger, newContext: () => t.app.commandContext(null), leaseRetryMs: 20, errorBackoffMs: 20,
      knowledge, sourcesLimit: 3, retrievalTimeoutMs: 2_000,
    });
    reactor.start();
  });
  afterAll(async () => {
    await reactor?.stop();
    await t?.close();
  });
  beforeEach(() => {
    knowledge.mode = 'answer';
  });

  const context = () => t.app.commandContext(user.userId);

  /** A document with its chunks (as the ingestion would have produced them) in the store and in the memory index. */
  async function document(name: string, chunks: StoredChunk[]) {
    const uploaded = await createDocumentCommands({ store: t.app.store })
      .uploadDocument({ ownerId: user.userId, name, mediaType: 'application/pdf', sha256: sha('a'), size: 10 }, context());
    knowledge.documents.set(uploaded.documentId, { ownerId: user.userId, name, version: uploaded.version, chunks });
    return uploaded.documentId;
  }

  async function conversationWith(knowledgeBaseIds: string[], documentIds: string[], input: Record<string, unknown> = {}) {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo', ...input });
    const set = await ok<{ setConversationKnowledge: { knowledgeBaseIds: string[]; documentIds: string[] } }>(
      t.yoga, SET_KNOWLEDGE, { conversationId: conversation.id, knowledgeBaseIds, documentIds }, user.token);
    expect(set.setConversationKnowledge).toMatchObject({ knowledgeBaseIds, documentIds });
    return conversation.id;
  }

  /** Sends `content` and waits for the reply to end; the reply as GraphQL shows it, and the prompt the provider got. */
  async function ask(conversationId: string, content: string, whileStreaming?: (events: FeedEvent[]) => Promise<void>) {
    const feed = await ConversationFeed.open(t, conversationId, user.token);
    let events: FeedEvent[];
    try {
      await ok(t.yoga, SEND, { conversationId, content }, user.token);
      if (whileStreaming) {
        const started = await feed.collectUntil((e) => e.kind === 'REPLY_STARTED');
        await whileStreaming(started);
      }
      events = await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind));
    } finally {
      await feed.close();
    }
    const terminal = events.at(-1)!;
    const { conversation } = await ok<{ conversation: { messages: { edges: Array<{ node: MessageWithSources }> } } }>(
      t.yoga, MESSAGES, { id: conversationId }, user.token);
    const reply = conversation.messages.edges.map((e) => e.node).find((m) => m.id === terminal.replyId)!;
    const request = t.fake!.requests.filter((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes(content)).at(-1);
    const prompt = (request?.body as { messages: Array<{ role: string; content: string }> } | undefined)?.messages ?? null;
    return { terminal, reply, prompt };
  }

  async function recordedSources(conversationId: string, replyId: string): Promise<ReplySource[]> {
    const events = await t.app.store.readStream(conversationStream(conversationId));
    const completed = events.find((e) => e.type === 'AssistantReplyCompleted' && (e.data as { replyId: string }).replyId === replyId);
    const data = completed!.data as { sources: ReplySource[]; provenance: { sources: unknown[] } };
    // The provenance names the same document versions, in the same order.
    expect(data.provenance.sources).toEqual(data.sources.map((s) => ({ documentId: s.documentId, version: s.version, chunkId: s.chunkId })));
    return data.sources;
  }

  it('retrieves for the newest message, numbers the sources in the prompt, and records them on the completed reply', async () => {
    const handbook = await document('Handbook.pdf', [
      { chunkId: 'hb-1', page: 2, headingPath: ['Policies', 'Refunds'], text: 'Refunds are accepted within 30 days of purchase.', score: 3 },
      { chunkId: 'hb-2', page: 5, headingPath: [], text: 'Our office is closed on Sundays.', score: 5 },
    ]);
    const notes = await document('Notes.docx', [{ chunkId: 'nt-1', page: null, headingPath: [], text: 'Refunds need the receipt.', score: 2 }]);
    const base = (await createKnowledgeBaseCommands({ store: t.app.store })
      .createKnowledgeBase({ ownerId: user.userId, name: 'Support' }, context())).knowledgeBaseId;
    await createKnowledgeBaseCommands({ store: t.app.store }).addDocumentToKnowledgeBase({ knowledgeBaseId: base, actorId: user.userId, documentId: handbook }, context());
    knowledge.bases.set(base, [handbook]);
    const conversationId = await conversationWith([base], [notes], { systemPrompt: 'Be brief.' });

    const question = 'How many days do refunds take, and what about refunds without a receipt?';
    const { terminal, reply, prompt } = await ask(conversationId, question);
    expect(terminal.kind).toBe('REPLY_COMPLETED');

    expect(knowledge.queries.at(-1)).toMatchObject({ ownerId: user.userId, knowledgeBaseIds: [base], documentIds: [notes], question, limit: 3 });
    expect(prompt).toHaveLength(2);
    expect(prompt![0]!.role).toBe('system');
    expect(prompt![0]!.content).toBe(`Be brief.\n\n${SOURCES_INSTRUCTIONS}\n\nSources:\n\n`
      + '[1] Handbook.pdf, page 2, section "Policies > Refunds":\nRefunds are accepted within 30 days of purchase.\n\n'
      + '[2] Notes.docx:\nRefunds need the receipt.');
    expect(prompt![1]).toEqual({ role: 'user', content: question });

    const expected = [
      { n: 1, documentId: handbook, documentVersion: 1, chunkId: 'hb-1', page: 2, score: 3 },
      { n: 2, documentId: notes, documentVersion: 1, chunkId: 'nt-1', page: null, score: 2 },
    ];
    expect(reply).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', content: `You said: ${question}`, sources: expected });
    expect(await recordedSources(conversationId, reply.id)).toEqual(expected.map(({ documentVersion, ...rest }) => ({ ...rest, version: documentVersion })));

    // The attached knowledge is on the conversation; the user's own message has no sources.
    const { conversation } = await ok<{ conversation: { knowledgeBaseIds: string[]; documentIds: string[]; messages: { edges: Array<{ node: MessageWithSources }> } } }>(
      t.yoga, MESSAGES, { id: conversationId }, user.token);
    expect(conversation).toMatchObject({ knowledgeBaseIds: [base], documentIds: [notes] });
    expect(conversation.messages.edges[0]!.node).toMatchObject({ role: 'USER', sources: [] });
  });

  it('without attached knowledge: no retrieval, the prompt of before, and no sources', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'fake-echo', systemPrompt: 'Be brief.' });
    const asked = knowledge.queries.length;
    const question = 'refunds without anything attached';
    const { terminal, reply, prompt } = await ask(conversation.id, question);
    expect(terminal.kind).toBe('REPLY_COMPLETED');
    expect(knowledge.queries.length).toBe(asked);
    expect(prompt).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }]);
    expect(reply.sources).toEqual([]);
    expect(await recordedSources(conversation.id, reply.id)).toEqual([]);

    // Detached again (two empty lists) is the same as never attached.
    const documentId = await document('Detached.pdf', [{ chunkId: 'dt-1', page: 1, headingPath: [], text: 'refunds detached', score: 1 }]);
    const conversationId = await conversationWith([], [documentId]);
    await ok(t.yoga, SET_KNOWLEDGE, { conversationId, knowledgeBaseIds: [], documentIds: [] }, user.token);
    const again = await ask(conversationId, 'refunds after detaching');
    expect(again.prompt).toEqual([{ role: 'user', content: 'refunds after detaching' }]);
    expect(again.reply.sources).toEqual([]);
  });

  it('when retrieval fails, the reply still completes, without sources, and the warning holds no personal data', async () => {
    const documentId = await document('Secret plans.pdf', [{ chunkId: 'sp-1', page: 1, headingPath: [], text: 'refunds are secret', score: 1 }]);
    const conversationId = await conversationWith([], [documentId]);
    knowledge.mode = 'throw';
    const question = 'confidential refunds question';
    const { terminal, reply, prompt } = await ask(conversationId, question);
    expect(terminal.kind).toBe('REPLY_COMPLETED');
    expect(reply).toMatchObject({ status: 'COMPLETE', content: `You said: ${question}`, sources: [] });
    expect(prompt).toEqual([{ role: 'user', content: question }]);
    const warning = log.lines.find((line) => line.msg === 'retrieval failed; answering without sources' && line.replyId === reply.id);
    expect(warning).toMatchObject({ level: 40, errorName: 'Error', timedOut: false });
    const logged = JSON.stringify(log.lines);
    expect(logged).not.toContain('confidential');
    expect(logged).not.toContain('Secret plans');
  });

  it('when retrieval hangs, it is given up after the timeout and the reply completes without sources', async () => {
    const documentId = await document('Slow.pdf', [{ chunkId: 'sl-1', page: 1, headingPath: [], text: 'refunds slow', score: 1 }]);
    const conversationId = await conversationWith([], [documentId]);
    knowledge.mode = 'hang';
    const { terminal, reply } = await ask(conversationId, 'refunds from a hanging index');
    expect(terminal.kind).toBe('REPLY_COMPLETED');
    expect(reply.sources).toEqual([]);
    expect(log.lines.find((line) => line.replyId === reply.id && line.msg === 'retrieval failed; answering without sources'))
      .toMatchObject({ timedOut: true });
  });

  it('a reply cancelled while retrieving ends CANCELLED', async () => {
    const documentId = await document('Stuck.pdf', [{ chunkId: 'st-1', page: 1, headingPath: [], text: 'refunds stuck', score: 1 }]);
    const conversationId = await conversationWith([], [documentId]);
    knowledge.mode = 'hang';
    const called = knowledge.nextCall();
    const { terminal, reply } = await ask(conversationId, 'refunds, then cancel', async (events) => {
      await within(called, 'the retrieval call');
      const replyId = events.find((e) => e.kind === 'REPLY_STARTED')!.replyId;
      await ok(t.yoga, CANCEL, { conversationId, replyId }, user.token);
    });
    expect(terminal.kind).toBe('REPLY_CANCELLED');
    expect(reply).toMatchObject({ status: 'CANCELLED', sources: [] });
  });

  it('asked again after a new document version, the new reply cites the new version and the old reply keeps the old one', async () => {
    const documentId = await document('Prices.pdf', [{ chunkId: 'pr-v1-1', page: 1, headingPath: [], text: 'The price is 10 euros.', score: 0.75 }]);
    const conversationId = await conversationWith([], [documentId]);
    const first = await ask(conversationId, 'What is the price?');
    expect(first.reply.sources).toEqual([{ n: 1, documentId, documentVersion: 1, chunkId: 'pr-v1-1', page: 1, score: 0.75 }]);

    const v2 = await createDocumentCommands({ store: t.app.store })
      .uploadDocumentVersion({ documentId, actorId: user.userId, mediaType: 'application/pdf', sha256: sha('b'), size: 11 }, context());
    expect(v2.version).toBe(2);
    knowledge.documents.set(documentId, {
      ownerId: user.userId, name: 'Prices.pdf', version: v2.version,
      chunks: [{ chunkId: 'pr-v2-1', page: 4, headingPath: [], text: 'From May the price is 12 euros.', score: 0.5 }],
    });
    const second = await ask(conversationId, 'And the price now?');
    expect(second.prompt![0]!.content).toContain('[1] Prices.pdf, page 4:\nFrom May the price is 12 euros.');
    expect(second.reply.sources).toEqual([{ n: 1, documentId, documentVersion: 2, chunkId: 'pr-v2-1', page: 4, score: 0.5 }]);

    const { conversation } = await ok<{ conversation: { messages: { edges: Array<{ node: MessageWithSources }> } } }>(
      t.yoga, MESSAGES, { id: conversationId }, user.token);
    const old = conversation.messages.edges.map((e) => e.node).find((m) => m.id === first.reply.id)!;
    expect(old.sources).toEqual([{ n: 1, documentId, documentVersion: 1, chunkId: 'pr-v1-1', page: 1, score: 0.75 }]);
  });
});
