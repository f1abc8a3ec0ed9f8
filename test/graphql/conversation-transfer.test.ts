// Export (Markdown, JSON, PDF; all conversations as JSON) and import (ChatGPT, Open WebUI) of
// conversations through the GraphQL API, in process.
import { readFileSync } from 'node:fs';
import { extractText, getDocumentProxy } from 'unpdf';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import {
  ConversationFeed, ENDPOINT, eventually, fails, getConversation, newUser, ok, SEND, startConversation, startTestApp, TERMINAL_KINDS,
  type TestApp, type TestUser, type Yoga,
} from './support.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

const INGESTION_WAIT_MS = 120_000;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

const IMPORT = `mutation Import($format: ConversationImportFormat!, $file: File!) {
  importConversations(format: $format, file: $file) {
    importedCount skippedCount conversations { id title model messageCount owner { id } }
  }
}`;
const EXPORT = `query Export($id: ID!, $format: ConversationExportFormat!) {
  exportConversation(id: $id, format: $format) { filename mediaType encoding content byteSize }
}`;
const EXPORT_ALL = '{ exportConversations { filename mediaType encoding content byteSize } }';
const MESSAGES = `query M($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { role content model status createdAt } } } } }`;
const MY_ACTIVITY = '{ myActivity(first: 100) { edges { node { type stream summary personalFields } } } }';

interface ImportResponse {
  data?: { importConversations: { importedCount: number; skippedCount: number; conversations: Array<{ id: string; title: string; model: string; messageCount: number; owner: { id: string } }> } } | null;
  errors?: Array<{ message: string; extensions: Record<string, unknown> }>;
}

async function importFile(yoga: Yoga, token: string | null, format: string, bytes: Uint8Array | string, name = 'export.json'): Promise<ImportResponse> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: IMPORT, variables: { format, file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([typeof bytes === 'string' ? bytes : Buffer.from(bytes)], name, { type: 'application/json' }));
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  return await response.json() as ImportResponse;
}

interface ExportFile { filename: string; mediaType: string; encoding: string; content: string; byteSize: number }

const BACKENDS = [{ name: 'SQLite + PGlite', postgres: false }, ...(process.env.DATABASE_URL ? [{ name: 'PostgreSQL', postgres: true }] : [])];

describe.each(BACKENDS)('GraphQL conversation import ($name)', ({ postgres }) => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  let database: TestDatabase | undefined;

  beforeAll(async () => {
    database = postgres ? await createTestDatabase() : undefined;
    t = await startTestApp({ env: database ? { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') } : {} });
    alice = await newUser(t.yoga);
    bob = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  const conversationCount = async (user: TestUser) =>
    (await ok<{ conversations: { edges: unknown[] } }>(t.yoga, '{ conversations(first: 100) { edges { cursor } } }', {}, user.token)).conversations.edges.length;

  it('imports the current branch of each ChatGPT conversation as a conversation of yours, that can be continued', async () => {
    const result = await importFile(t.yoga, alice.token, 'CHATGPT', fixture('chatgpt-conversations.json'));
    expect(result.errors).toBeUndefined();
    const imported = result.data!.importConversations;
    expect(imported).toMatchObject({ importedCount: 2, skippedCount: 1 });
    expect(imported.conversations.map((c) => [c.title, c.messageCount, c.owner.id, c.model]))
      .toEqual([['Trip to Lisbon', 4, alice.userId, 'fake-echo'], ['Regex help', 2, alice.userId, 'fake-echo']]);

    const trip = imported.conversations[0]!.id;
    // On a loaded machine the import may answer as pending: wait for the read model to show the messages.
    await eventually(async () => (await getConversation(t.yoga, alice.token, trip)).messages.edges.length === 4, 'the imported messages');
    const messages = (await ok<{ conversation: { messages: { edges: Array<{ node: Record<string, unknown> }> } } }>(
      t.yoga, MESSAGES, { id: trip }, alice.token)).conversation.messages.edges.map((e) => e.node);
    expect(messages.map((m) => [m.role, m.model, m.status])).toEqual([
      ['USER', null, 'COMPLETE'], ['ASSISTANT', 'gpt-4o', 'COMPLETE'], ['USER', null, 'COMPLETE'], ['ASSISTANT', 'gpt-4o-2024-05-13', 'COMPLETE'],
    ]);
    expect(messages[0]).toMatchObject({ content: 'What should I see in Lisbon in two days?', createdAt: '2024-05-20T10:13:30.500Z' });
    expect(JSON.stringify(messages)).not.toContain('not the current one');

    // Continuing: the provider is sent the imported history before the new message.
    const feed = await ConversationFeed.open(t, trip, alice.token);
    try {
      await ok(t.yoga, SEND, { conversationId: trip, content: 'Thanks! One more tip?' }, alice.token);
      const terminal = (await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!;
      expect(terminal.kind).toBe('REPLY_COMPLETED');
    } finally {
      await feed.close();
    }
    const request = t.fake!.requests.find((r) => JSON.stringify(r.body).includes('One more tip')) as { body: { messages: Array<{ role: string; content: string }> } };
    expect(request.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user']);
    expect(request.body.messages[1]!.content).toContain('Alfama');

    // Nobody else can read it.
    expect((await fails(t.yoga, MESSAGES, { id: trip }, bob.token)).code).toBe('NOT_FOUND');
  });

  it('imports an Open WebUI export (history tree and plain messages list)', async () => {
    const result = await importFile(t.yoga, bob.token, 'OPEN_WEBUI', fixture('open-webui-export.json'));
    expect(result.errors).toBeUndefined();
    const imported = result.data!.importConversations;
    expect(imported.conversations.map((c) => [c.title, c.messageCount])).toEqual([['Kubernetes probes', 4], ['Old chat (messages list only)', 2]]);
    const view = await getConversation(t.yoga, bob.token, imported.conversations[0]!.id);
    expect(view.messages.edges.map((e) => e.node.content?.slice(0, 12))).toEqual(['Liveness vs ', 'Liveness res', 'Give me a YA', '```yaml\nlive']);
    expect(view.messages.edges.map((e) => e.node.model)).toEqual([null, 'llama3.1:8b', null, 'qwen2.5:14b']);
  });

  it('refuses malformed files with BAD_USER_INPUT and records nothing', async () => {
    const before = await conversationCount(alice);
    const cases: Array<[string, Uint8Array | string, RegExp]> = [
      ['CHATGPT', '{"truncated": ', /not valid JSON/],
      ['CHATGPT', new Uint8Array([0x5b, 0xff, 0xfe, 0x5d]), /not UTF-8/],
      ['CHATGPT', fixture('open-webui-export.json'), /mapping is missing/],
      ['OPEN_WEBUI', fixture('chatgpt-conversations.json'), /Open WebUI/],
      ['OPEN_WEBUI', JSON.stringify([{ title: 'ok', chat: { messages: [{ role: 'user', content: 'fine' }] } },
        { title: 'bad', chat: { messages: [{ role: 'user', content: 'nul \u0000 here' }] } }]), /Conversation 2, message 1 must not contain NUL/],
    ];
    for (const [format, bytes, message] of cases) {
      const result = await importFile(t.yoga, alice.token, format, bytes);
      expect(result.errors?.[0]?.extensions.code, String(message)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    expect(await conversationCount(alice)).toBe(before);
    const anonymous = await importFile(t.yoga, null, 'CHATGPT', fixture('chatgpt-conversations.json'));
    expect(anonymous.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('records the import in the audit log with ids, counts and the format only (no titles, no text)', async () => {
    const activity = (await ok<{ myActivity: { edges: Array<{ node: { type: string; summary: Record<string, unknown>; personalFields: string[] } }> } }>(
      t.yoga, MY_ACTIVITY, {}, alice.token)).myActivity.edges.map((e) => e.node);
    const started = activity.find((a) => a.type === 'ConversationImported')!;
    expect(started.summary).toMatchObject({ ownerId: alice.userId, format: 'chatgpt', messageCount: expect.any(Number) });
    expect(started.personalFields).toEqual(['title']);
    const message = activity.find((a) => a.type === 'ConversationMessageImported')!;
    expect(message.personalFields).toEqual(['content']);
    expect(JSON.stringify(activity)).not.toMatch(/Lisbon|Regex help|ISO date/);
    // The owner's data export holds the events in full.
    const mine = JSON.stringify((await ok<{ exportMyData: unknown }>(t.yoga, '{ exportMyData }', {}, alice.token)).exportMyData);
    expect(mine).toContain('"type":"ConversationImported"');
    expect(mine).toContain('Trip to Lisbon');
  });
});

describe('GraphQL conversation export', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let cited: { conversationId: string; documentId: string; knowledgeBaseId: string };

  beforeAll(async () => {
    t = await startTestApp();
    alice = await newUser(t.yoga);
    bob = await newUser(t.yoga);
    // A conversation with a knowledge base attached and a reply that cites a document (real upload, ingestion, retrieval).
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation ($file: File!) { uploadDocument(file: $file) { documentId } }', variables: { file: null } }));
    form.set('map', JSON.stringify({ 0: ['variables.file'] }));
    form.set('0', new File(['# Orchard\n\nThe quince tree behind the mill was planted by Ilse Brandt in 1911.\n'], 'orchard.md', { type: 'text/markdown' }));
    const uploaded = await (await t.yoga.fetch(ENDPOINT, { method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', authorization: `Bearer ${alice.token}` } }))
      .json() as { data: { uploadDocument: { documentId: string } } };
    const documentId = uploaded.data.uploadDocument.documentId;
    await eventually(async () => (await ok<{ document: { status: string } }>(t.yoga, 'query ($id: ID!) { document(id: $id) { status } }', { id: documentId }, alice.token))
      .document.status === 'indexed', 'the document indexed', INGESTION_WAIT_MS);
    const knowledgeBaseId = (await ok<{ createKnowledgeBase: { id: string } }>(t.yoga, 'mutation { createKnowledgeBase(name: "Village") { id } }', {}, alice.token))
      .createKnowledgeBase.id;
    await ok(t.yoga, 'mutation ($k: ID!, $d: ID!) { addDocumentToKnowledgeBase(knowledgeBaseId: $k, documentId: $d) { documentCount } }',
      { k: knowledgeBaseId, d: documentId }, alice.token);
    const conversation = await startConversation(t.yoga, alice.token, { title: 'Village history — ünïcödé ✓', systemPrompt: 'Cite sources.' });
    await ok(t.yoga, 'mutation ($c: ID!, $k: [ID!]!, $d: [ID!]!) { setConversationKnowledge(conversationId: $c, knowledgeBaseIds: $k, documentIds: $d) { id } }',
      { c: conversation.id, k: [knowledgeBaseId], d: [documentId] }, alice.token);
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'Who planted the quince tree? Ελληνικά' }, alice.token);
    await eventually(async () => (await getConversation(t.yoga, alice.token, conversation.id)).messages.edges
      .some((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE'), 'the cited reply', INGESTION_WAIT_MS);
    cited = { conversationId: conversation.id, documentId, knowledgeBaseId };
  }, INGESTION_WAIT_MS * 2);
  afterAll(async () => {
    await t?.close();
  });

  const exportAs = async (format: string, user = alice, id = cited.conversationId) =>
    (await ok<{ exportConversation: ExportFile }>(t.yoga, EXPORT, { id, format }, user.token)).exportConversation;

  it('JSON: the conversation, its attached knowledge by name, and each reply\'s citations with document, version and passage', async () => {
    const file = await exportAs('JSON');
    expect(file).toMatchObject({ filename: `conversation-${cited.conversationId}.json`, mediaType: 'application/json', encoding: 'UTF8' });
    expect(file.byteSize).toBe(Buffer.byteLength(file.content));
    const exp = JSON.parse(file.content) as { format: string; conversation: Record<string, unknown> & { messages: Array<Record<string, unknown> & { citations: Array<Record<string, unknown>> }> } };
    expect(exp.format).toBe('evident-conversation/1');
    expect(exp.conversation).toMatchObject({
      id: cited.conversationId, title: 'Village history — ünïcödé ✓', systemPrompt: 'Cite sources.',
      knowledgeBases: [{ id: cited.knowledgeBaseId, name: 'Village' }], documents: [{ id: cited.documentId, name: 'orchard.md' }],
    });
    const [question, reply] = exp.conversation.messages;
    expect(question).toMatchObject({ role: 'user', content: 'Who planted the quince tree? Ελληνικά', citations: [] });
    expect(reply).toMatchObject({ role: 'assistant', status: 'complete' });
    expect(reply!.citations[0]).toMatchObject({ n: 1, documentId: cited.documentId, documentName: 'orchard.md', documentVersion: 1 });
    expect(reply!.citations[0]!.excerpt).toContain('Ilse Brandt');
  });

  it('Markdown: title, knowledge, messages and a Sources list per cited reply', async () => {
    const file = await exportAs('MARKDOWN');
    expect(file).toMatchObject({ filename: `conversation-${cited.conversationId}.md`, mediaType: 'text/markdown; charset=utf-8', encoding: 'UTF8' });
    expect(file.content).toMatch(/^# Village history — ünïcödé ✓\n/);
    expect(file.content).toContain('- Knowledge bases: Village');
    expect(file.content).toContain('- Documents: orchard.md');
    expect(file.content).toContain('## User');
    expect(file.content).toContain('Who planted the quince tree? Ελληνικά');
    expect(file.content).toContain('**Sources**');
    // orchard.md has no pages: the citation names the document and its version.
    expect(file.content).toMatch(/\*\*Sources\*\*\n\n- \[1\] orchard\.md \(version 1\)\n/);
  });

  it('PDF: a real PDF (base64) holding the text, with characters its font lacks shown as "?" and said so', async () => {
    const file = await exportAs('PDF');
    expect(file).toMatchObject({ filename: `conversation-${cited.conversationId}.pdf`, mediaType: 'application/pdf', encoding: 'BASE64' });
    const bytes = new Uint8Array(Buffer.from(file.content, 'base64'));
    expect(bytes.byteLength).toBe(file.byteSize);
    expect(Buffer.from(bytes.subarray(0, 5)).toString()).toBe('%PDF-');
    const { text } = await extractText(await getDocumentProxy(bytes), { mergePages: true });
    expect(text).toContain('Village history — ünïcödé ?'); // WinAnsi has the dash and umlauts, not the check mark
    expect(text).toContain('Who planted the quince tree? ????????');
    expect(text).toContain('[1] orchard.md');
    expect(text).toMatch(/character\(s\) this PDF's font cannot show appear as "\?"/);
  });

  it('a message tree: Markdown shows the active branch and says how many messages are elsewhere; JSON keeps every branch', async () => {
    const carol = await newUser(t.yoga); // not alice: the all-conversations export below counts hers
    const conversation = await startConversation(t.yoga, carol.token, { title: 'Branches' });
    await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'first question' }, carol.token);
    const reply = await eventually(async () => (await getConversation(t.yoga, carol.token, conversation.id)).messages.edges
      .find((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE')?.node, 'the first reply');
    const feed = await ConversationFeed.open(t, conversation.id, carol.token);
    try {
      await ok(t.yoga, 'mutation ($c: ID!, $m: ID!) { regenerateReply(conversationId: $c, messageId: $m) { replyId } }',
        { c: conversation.id, m: reply.id }, carol.token);
      expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_COMPLETED');
    } finally {
      await feed.close();
    }
    const json = JSON.parse((await exportAs('JSON', carol, conversation.id)).content) as {
      conversation: { messages: Array<{ id: string; role: string; parentId: string | null; onActiveBranch: boolean }> };
    };
    const messages = json.conversation.messages;
    expect(messages.map((m) => [m.role, m.onActiveBranch])).toEqual([['user', true], ['assistant', false], ['assistant', true]]);
    expect(messages[1]!.parentId).toBe(messages[0]!.id);
    expect(messages[2]!.parentId).toBe(messages[0]!.id);
    const markdown = (await exportAs('MARKDOWN', carol, conversation.id)).content;
    expect(markdown).toContain('1 message on other branches is in the JSON export');
    expect(markdown.match(/^## Assistant/gm)).toHaveLength(1);
  });

  it('all conversations as one JSON file: every one of yours, none of anyone else\'s', async () => {
    const bobs = await startConversation(t.yoga, bob.token, { title: 'Bob private' });
    const file = (await ok<{ exportConversations: ExportFile }>(t.yoga, EXPORT_ALL, {}, alice.token)).exportConversations;
    const exp = JSON.parse(file.content) as { format: string; ownerId: string; conversations: Array<{ id: string; messages: unknown[] }> };
    expect(exp).toMatchObject({ format: 'evident-conversations/1', ownerId: alice.userId });
    expect(exp.conversations.map((c) => c.id)).toEqual([cited.conversationId]);
    expect(file.content).not.toContain('Bob private');
    const bobFile = JSON.parse((await ok<{ exportConversations: ExportFile }>(t.yoga, EXPORT_ALL, {}, bob.token)).exportConversations.content) as typeof exp;
    expect(bobFile.conversations.map((c) => c.id)).toEqual([bobs.id]);
  });

  it("answers NOT_FOUND for someone else's (or no) conversation in every format, UNAUTHENTICATED without a session", async () => {
    for (const format of ['JSON', 'MARKDOWN', 'PDF']) {
      expect((await fails(t.yoga, EXPORT, { id: cited.conversationId, format }, bob.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, EXPORT, { id: '01a215be-0000-7000-8000-000000000000', format }, alice.token)).code).toBe('NOT_FOUND');
      expect((await fails(t.yoga, EXPORT, { id: cited.conversationId, format })).code).toBe('UNAUTHENTICATED');
    }
    expect((await fails(t.yoga, EXPORT_ALL, {})).code).toBe('UNAUTHENTICATED');
  });
});
