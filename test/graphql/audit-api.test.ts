// The audit API in process: auditLog (admins, Relay pages over the audit read model), auditFeed
// (admins, live over SSE, ends with the session), myActivity and exportMyData (everyone, their own).
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer } from '../../src/graphql/server.ts';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import {
  ENDPOINT, eventually, fails, getConversation, gql, LOGIN, newUser, ok, openSse, SEND, startConversation, startTestApp, uniqueEmail,
  within, type SseStream, type TestApp, type TestUser, type Yoga,
} from './support.ts';

const EVENT_FIELDS = 'position eventId type schemaVersion stream occurredAt actorId correlationId causationId requestId subjectId subjectErased personalFields summary';
const AUDIT_LOG = `query Audit($filter: AuditFilter, $first: Int, $after: String, $last: Int, $before: String, $newestFirst: Boolean) {
  auditLog(filter: $filter, first: $first, after: $after, last: $last, before: $before, newestFirst: $newestFirst) {
    edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const MY_ACTIVITY = `query Mine($first: Int, $after: String) {
  myActivity(first: $first, after: $after) { edges { cursor node { ${EVENT_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const AUDIT_FEED = `subscription Feed($filter: AuditFilter) { auditFeed(filter: $filter) { ${EVENT_FIELDS} } }`;
const EXPORT = '{ exportMyData }';
const RENAME = 'mutation Rename($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id title } }';

interface AuditNode {
  position: string; eventId: string; type: string; schemaVersion: number; stream: string; occurredAt: string;
  actorId: string | null; correlationId: string | null; causationId: string | null; requestId: string | null;
  subjectId: string | null; subjectErased: boolean; personalFields: string[]; summary: Record<string, unknown>;
}
interface AuditConnection {
  edges: Array<{ cursor: string; node: AuditNode }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

async function auditLog(yoga: Yoga, token: string, variables: Record<string, unknown>): Promise<AuditConnection> {
  return (await ok<{ auditLog: AuditConnection }>(yoga, AUDIT_LOG, variables, token)).auditLog;
}

/** Every event of the filter, read page by page. */
async function allPages(yoga: Yoga, token: string, filter: Record<string, unknown>, first: number): Promise<AuditNode[]> {
  const nodes: AuditNode[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await auditLog(yoga, token, { filter, first, after });
    expect(page.edges.length).toBeLessThanOrEqual(first);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
  throw new Error('more than 1000 pages');
}

async function upload(yoga: Yoga, token: string, text: string, name: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: 'mutation($f: File!) { uploadDocument(file: $f) { documentId } }', variables: { f: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.f'] }));
  form.set('0', new File([text], name, { type: 'text/markdown' }));
  const response = await yoga.fetch(ENDPOINT, { method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', authorization: `Bearer ${token}` } });
  const body = await response.json() as { data?: { uploadDocument: { documentId: string } } };
  if (!body.data) throw new Error(`upload failed: ${JSON.stringify(body)}`);
  return body.data.uploadDocument.documentId;
}

/** The next data item of an auditFeed stream, or the errors it ended with. */
async function nextFeedItem(stream: SseStream): Promise<{ item?: AuditNode; errors?: Array<{ extensions?: { code?: string } }>; ended?: boolean }> {
  for (;;) {
    const frame = await stream.nextFrame();
    if (!frame || frame.event === 'complete') return { ended: true };
    const payload = JSON.parse(frame.data) as { data?: { auditFeed: AuditNode } | null; errors?: Array<{ extensions?: { code?: string } }> };
    if (payload.errors) return { errors: payload.errors };
    if (payload.data?.auditFeed) return { item: payload.data.auditFeed };
  }
}

/** A person with a conversation (a message and its reply, renamed once), a knowledge base and an indexed document. */
async function populate(test: TestApp, user: TestUser, marker: string) {
  const conversation = await startConversation(test.yoga, user.token, { title: `${marker} first title` });
  await ok(test.yoga, RENAME, { id: conversation.id, title: `${marker} second title` }, user.token);
  await ok(test.yoga, SEND, { conversationId: conversation.id, content: `${marker} message text` }, user.token);
  await eventually(async () => (await getConversation(test.yoga, user.token, conversation.id)).messages.edges
    .some((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE'), 'the reply');
  const kb = await ok<{ createKnowledgeBase: { id: string } }>(test.yoga, 'mutation($n: String!) { createKnowledgeBase(name: $n) { id } }',
    { n: `${marker} knowledge base` }, user.token);
  const documentId = await upload(test.yoga, user.token, `# ${marker} heading\n\n${marker} document body about lighthouses.\n`, `${marker}-notes.md`);
  await eventually(async () => (await ok<{ document: { status: string } }>(test.yoga, 'query($id: ID!) { document(id: $id) { status } }',
    { id: documentId }, user.token)).document.status === 'indexed', 'the document indexed', 60_000);
  return { conversationId: conversation.id, knowledgeBaseId: kb.createKnowledgeBase.id, documentId };
}

describe('audit API over GraphQL (int)', () => {
  let test: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let aliceData: Awaited<ReturnType<typeof populate>>;
  let bobData: Awaited<ReturnType<typeof populate>>;

  beforeAll(async () => {
    test = await startTestApp();
    admin = await newUser(test.yoga, { displayName: 'Admin Person' });
    expect(admin.role).toBe('admin');
    alice = await newUser(test.yoga, { email: uniqueEmail('alice'), displayName: 'Alice Aardvark' });
    bob = await newUser(test.yoga, { email: uniqueEmail('bob'), displayName: 'Bob Bumblebee' });
    aliceData = await populate(test, alice, 'Alicemarker');
    bobData = await populate(test, bob, 'Bobmarker');
  }, 180_000);
  afterAll(async () => {
    await test?.close();
  });

  describe('auditLog', () => {
    it('is for admins: FORBIDDEN for members, UNAUTHENTICATED without a session', async () => {
      expect((await fails(test.yoga, AUDIT_LOG, { first: 1 }, alice.token)).code).toBe('FORBIDDEN');
      expect((await fails(test.yoga, AUDIT_LOG, { first: 1 })).code).toBe('UNAUTHENTICATED');
      expect((await fails(test.yoga, AUDIT_LOG, { first: 1 }, 'evd_not-a-token')).code).toBe('UNAUTHENTICATED');
    });

    it('lists every event of the log once, in order, with its metadata, across pages', async () => {
      const head = await test.app.store.headPosition();
      await test.app.projections.waitFor(head, { projections: ['audit'], timeoutMs: 15_000 });
      const log = (await test.app.store.readAll({ maxCount: 10_000 })).filter((e) => e.position <= head);
      const whole = (await allPages(test.yoga, admin.token, { toPosition: head.toString() }, 500));
      expect(log.length).toBeGreaterThan(20);
      expect(whole.map((n) => n.eventId)).toEqual(log.map((e) => e.id));
      const paged = await allPages(test.yoga, admin.token, { toPosition: head.toString() }, 7);
      expect(paged).toEqual(whole);
      const byId = new Map(log.map((e) => [e.id, e]));
      for (const node of whole) {
        const event = byId.get(node.eventId)!;
        expect(node).toMatchObject({
          position: event.position.toString(), type: event.type, stream: event.stream, actorId: event.metadata.actorId,
          correlationId: event.metadata.correlationId, causationId: event.metadata.causationId, requestId: event.metadata.requestId,
        });
        expect(Date.parse(node.occurredAt)).toBe(Date.parse(event.metadata.occurredAt));
      }
      // A rename by Alice names her as actor and subject, with the request it came from.
      const rename = whole.find((n) => n.type === 'ConversationRenamed' && n.summary.conversationId === aliceData.conversationId)!;
      expect(rename).toMatchObject({ actorId: alice.userId, subjectId: alice.userId, personalFields: ['title'] });
      expect(rename.requestId).toBeTruthy();
    });

    it('pages backwards and newest first too', async () => {
      const forwards = (await auditLog(test.yoga, admin.token, { first: 10 })).edges.map((e) => e.node.position);
      const fourth = (await auditLog(test.yoga, admin.token, { first: 4 })).edges[3]!.cursor;
      const before = await auditLog(test.yoga, admin.token, { last: 2, before: fourth });
      expect(before.edges.map((e) => e.node.position)).toEqual(forwards.slice(1, 3));
      expect(before.pageInfo.hasPreviousPage).toBe(true);
      const newest = (await auditLog(test.yoga, admin.token, { first: 3, newestFirst: true })).edges.map((e) => BigInt(e.node.position));
      expect(newest).toEqual([...newest].sort((a, b) => (a > b ? -1 : 1)));
      expect(newest[0]).toBe(await test.app.store.headPosition());
    });

    it('filters by type, stream prefix, actor, subject, time and position', async () => {
      const all = await allPages(test.yoga, admin.token, {}, 500);
      const check = async (filter: Record<string, unknown>, keep: (n: AuditNode) => boolean) => {
        const expected = all.filter(keep).map((n) => n.position);
        expect(expected.length, JSON.stringify(filter)).toBeGreaterThan(0);
        expect((await allPages(test.yoga, admin.token, { toPosition: all.at(-1)!.position, ...filter }, 500)).map((n) => n.position), JSON.stringify(filter))
          .toEqual(expected);
      };
      await check({ types: ['ConversationRenamed', 'UserMessageSent'] }, (n) => ['ConversationRenamed', 'UserMessageSent'].includes(n.type));
      await check({ streamPrefix: `conversation-${bobData.conversationId}` }, (n) => n.stream === `conversation-${bobData.conversationId}`);
      await check({ actorId: bob.userId }, (n) => n.actorId === bob.userId);
      await check({ subjectId: alice.userId }, (n) => n.subjectId === alice.userId);
      const middle = all[Math.floor(all.length / 2)]!;
      await check({ occurredFrom: middle.occurredAt }, (n) => Date.parse(n.occurredAt) >= Date.parse(middle.occurredAt));
      await check({ occurredTo: middle.occurredAt }, (n) => Date.parse(n.occurredAt) <= Date.parse(middle.occurredAt));
      await check({ fromPosition: all[3]!.position, toPosition: all[8]!.position }, (n) => BigInt(n.position) >= BigInt(all[3]!.position)
        && BigInt(n.position) <= BigInt(all[8]!.position));
      await check({ subjectId: bob.userId, types: ['UserMessageSent'] }, (n) => n.subjectId === bob.userId && n.type === 'UserMessageSent');
    });

    it('refuses hostile page sizes, cursors and filters with BAD_USER_INPUT, and treats odd values as plain values', async () => {
      const bad = async (variables: Record<string, unknown>) => {
        const error = await fails(test.yoga, AUDIT_LOG, variables, admin.token);
        expect(error.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
        expect(error.message).not.toMatch(/at .*\.ts:\d+/);
      };
      await bad({ first: 501 });
      await bad({ first: -1 });
      await bad({ last: 100_000 });
      await bad({ first: 5, after: 'garbage' });
      await bad({ first: 5, after: Buffer.from(JSON.stringify(['a', '99999999999999999999'])).toString('base64url') });
      await bad({ first: 5, after: Buffer.from(JSON.stringify(['a', '-1'])).toString('base64url') });
      await bad({ first: 5, before: 'x'.repeat(10_000) });
      await bad({ filter: { streamPrefix: 'conversation-\u0000' } });
      await bad({ filter: { streamPrefix: 'x'.repeat(300) } });
      await bad({ filter: { types: Array.from({ length: 101 }, (_, i) => `T${i}`) } });
      await bad({ filter: { fromPosition: 'abc' } });
      await bad({ filter: { toPosition: '9223372036854775808' } });
      await bad({ filter: { occurredFrom: 'yesterday' } });
      await bad({ filter: { actorId: '\ud800' } });
      const empty = async (filter: Record<string, unknown>) => expect((await auditLog(test.yoga, admin.token, { filter })).edges, JSON.stringify(filter)).toEqual([]);
      await empty({ streamPrefix: '%' });
      await empty({ streamPrefix: '_' });
      await empty({ actorId: "x' OR '1'='1" });
      await empty({ types: ["UserRegistered') OR true --"] });
      await empty({ fromPosition: '9223372036854775807' });
      await empty({ occurredFrom: '2999-01-01T00:00:00Z' });
      expect((await auditLog(test.yoga, admin.token, { first: 0 })).edges).toEqual([]);
    });

    it('rebuilds from the log into exactly the same rows', async () => {
      const rows = async () => (await test.app.readDb.query('SELECT * FROM audit_events ORDER BY position')).rows;
      const head = await test.app.store.headPosition();
      await test.app.projections.waitFor(head, { projections: ['audit'], timeoutMs: 15_000 });
      const before = (await rows()).filter((r) => BigInt(String((r as { position: unknown }).position)) <= head);
      await ok(test.yoga, 'mutation { rebuildProjection(name: "audit") { name state } }', {}, admin.token);
      const after = (await rows()).filter((r) => BigInt(String((r as { position: unknown }).position)) <= head);
      expect(after.length).toBe(before.length);
      expect(after).toEqual(before);
    });

    it('holds no personal text: titles, messages, names and emails appear nowhere in it', async () => {
      const raw = JSON.stringify(await allPages(test.yoga, admin.token, {}, 500));
      for (const secret of [alice.email, bob.email, 'Alice Aardvark', 'Bob Bumblebee', 'Alicemarker', 'Bobmarker']) {
        expect(raw, secret).not.toContain(secret);
      }
    });
  });

  describe('myActivity', () => {
    it('shows your own events (as actor or subject), newest first, across pages, and never anyone else\'s', async () => {
      const nodes: AuditNode[] = [];
      let after: string | null = null;
      for (;;) {
        const page: { myActivity: AuditConnection } = await ok(test.yoga, MY_ACTIVITY, { first: 5, after }, alice.token);
        nodes.push(...page.myActivity.edges.map((e) => e.node));
        if (!page.myActivity.pageInfo.hasNextPage) break;
        after = page.myActivity.pageInfo.endCursor;
      }
      expect(nodes.length).toBeGreaterThan(10);
      for (const node of nodes) expect(node.actorId === alice.userId || node.subjectId === alice.userId, node.type).toBe(true);
      const positions = nodes.map((n) => BigInt(n.position));
      expect(positions).toEqual([...positions].sort((a, b) => (a > b ? -1 : 1)));
      expect(new Set(positions).size).toBe(positions.length);
      const types = new Set(nodes.map((n) => n.type));
      for (const type of ['UserRegistered', 'SessionStarted', 'LoginSucceeded', 'ConversationStarted', 'ConversationRenamed',
        'UserMessageSent', 'AssistantReplyCompleted', 'KnowledgeBaseCreated', 'DocumentUploaded']) {
        expect(types, type).toContain(type);
      }
      const raw = JSON.stringify(nodes);
      expect(raw).not.toContain(bob.userId);
      expect(raw).not.toContain(bobData.conversationId);
      expect(raw).not.toContain(bobData.documentId);
    });

    it('needs a session, not admin rights, and refuses bad page arguments', async () => {
      expect((await fails(test.yoga, MY_ACTIVITY, { first: 1 })).code).toBe('UNAUTHENTICATED');
      expect((await fails(test.yoga, MY_ACTIVITY, { first: 501 }, alice.token)).code).toBe('BAD_USER_INPUT');
      expect((await fails(test.yoga, MY_ACTIVITY, { first: 1, after: 'nope' }, alice.token)).code).toBe('BAD_USER_INPUT');
    });
  });

  describe('exportMyData', () => {
    it('holds everything about you, decrypted, and nothing of anyone else', async () => {
      const exported = (await ok<{ exportMyData: Record<string, unknown> }>(test.yoga, EXPORT, {}, alice.token)).exportMyData;
      const raw = JSON.stringify(exported);
      expect(exported).toMatchObject({ format: 'evident-personal-data/1', userId: alice.userId });
      expect(exported.account).toMatchObject({ id: alice.userId, email: alice.email, displayName: 'Alice Aardvark', status: 'active' });
      expect((exported.sessions as unknown[]).length).toBeGreaterThan(0);
      expect((exported.logins as Array<{ outcome: string }>).some((l) => l.outcome === 'succeeded')).toBe(true);
      const [conversation] = exported.conversations as Array<{ id: string; title: string; messages: Array<{ role: string; content: string }> }>;
      expect(conversation).toMatchObject({ id: aliceData.conversationId, title: 'Alicemarker second title' });
      expect(conversation!.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(conversation!.messages[0]!.content).toBe('Alicemarker message text');
      expect(conversation!.messages[1]!.content).toContain('Alicemarker');
      expect(exported.knowledgeBases).toMatchObject([{ id: aliceData.knowledgeBaseId, name: 'Alicemarker knowledge base' }]);
      const [document] = exported.documents as Array<{ id: string; name: string; sha256: string; chunks: Array<{ text: string }> }>;
      expect(document).toMatchObject({ id: aliceData.documentId, name: 'Alicemarker-notes.md' });
      expect(document!.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(document!.chunks.map((c) => c.text).join(' ')).toContain('Alicemarker document body about lighthouses');
      // Her events, decrypted: the first title is there, though the conversation has since been renamed.
      const events = exported.events as Array<{ type: string; data?: Record<string, unknown> }>;
      expect(events.find((e) => e.type === 'ConversationStarted')?.data?.title).toBe('Alicemarker first title');
      expect(events.find((e) => e.type === 'UserRegistered')?.data?.email).toBe(alice.email);
      expect(raw).not.toMatch(/\$argon2/);

      for (const other of [bob.email, bob.userId, 'Bob Bumblebee', 'Bobmarker', bobData.conversationId, bobData.documentId, bobData.knowledgeBaseId,
        admin.email, admin.userId, 'Admin Person']) {
        expect(raw, other).not.toContain(other);
      }
    });

    it('needs a session', async () => {
      expect((await fails(test.yoga, EXPORT)).code).toBe('UNAUTHENTICATED');
    });
  });

  describe('auditFeed', () => {
    it('is for admins: a member gets FORBIDDEN, no session UNAUTHENTICATED', async () => {
      for (const [token, code] of [[alice.token, 'FORBIDDEN'], [null, 'UNAUTHENTICATED']] as const) {
        const stream = await openSse(test.yoga, AUDIT_FEED, {}, token);
        try {
          const result = await nextFeedItem(stream);
          expect(result.errors?.[0]?.extensions?.code).toBe(code);
        } finally {
          await stream.close();
        }
      }
    });

    it('delivers matching events as they are recorded, and ends with UNAUTHENTICATED on logout', async () => {
      const login = await ok<{ login: { token: string } }>(test.yoga, LOGIN, { email: admin.email, password: admin.password });
      const token = login.login.token;
      const from = (await test.app.store.headPosition()) + 1n;
      const stream = await openSse(test.yoga, AUDIT_FEED, {
        filter: { types: ['ConversationRenamed'], subjectId: alice.userId, fromPosition: from.toString() },
      }, token);
      try {
        await ok(test.yoga, RENAME, { id: bobData.conversationId, title: 'Bobmarker not for this feed' }, bob.token);
        await ok(test.yoga, RENAME, { id: aliceData.conversationId, title: 'Alicemarker third title' }, alice.token);
        const first = await nextFeedItem(stream);
        expect(first.item).toMatchObject({ type: 'ConversationRenamed', actorId: alice.userId, subjectId: alice.userId, personalFields: ['title'] });
        expect(first.item!.summary).toEqual({ conversationId: aliceData.conversationId, ownerId: alice.userId });
        expect(BigInt(first.item!.position)).toBeGreaterThanOrEqual(from);
        expect(JSON.stringify(first.item)).not.toContain('Alicemarker');

        await ok(test.yoga, 'mutation { logout }', {}, token);
        const end = await nextFeedItem(stream);
        expect(end.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect((await nextFeedItem(stream)).ended).toBe(true);
      } finally {
        await stream.close();
      }
    });

    it('over graphql-ws too: live events, then UNAUTHENTICATED on logout', async () => {
      const server = await startServer(test.app, { port: 0, host: '127.0.0.1' });
      const token = (await ok<{ login: { token: string } }>(test.yoga, LOGIN, { email: admin.email, password: admin.password })).login.token;
      const client = createClient({
        url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` },
      });
      const items: AuditNode[] = [];
      let wake = () => {};
      const ended = new Promise<unknown>((resolve) => {
        const from = test.app.store.headPosition().then((head) => (head + 1n).toString());
        void from.then((fromPosition) => client.subscribe(
          { query: AUDIT_FEED, variables: { filter: { types: ['ConversationRenamed'], subjectId: alice.userId, fromPosition } } },
          {
            next: (value) => {
              const item = (value.data as { auditFeed?: AuditNode } | null)?.auditFeed;
              if (item) items.push(item);
              if (value.errors) resolve(value.errors);
              wake();
            },
            error: (error) => resolve(error),
            complete: () => resolve('complete'),
          },
        ));
      });
      try {
        await ok(test.yoga, RENAME, { id: aliceData.conversationId, title: 'Alicemarker over ws' }, alice.token);
        await within(new Promise<void>((resolve) => {
          wake = () => items.length > 0 && resolve();
          wake();
        }), 'the first feed item over graphql-ws');
        expect(items[0]).toMatchObject({ type: 'ConversationRenamed', subjectId: alice.userId, actorId: alice.userId });
        await ok(test.yoga, 'mutation { logout }', {}, token);
        const end = await within(ended, 'the feed to end') as Array<{ extensions?: { code?: string } }>;
        expect(end[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      } finally {
        await client.dispose();
        await server.close();
      }
    });

    it('with toPosition, replays from fromPosition and ends there', async () => {
      const all = await allPages(test.yoga, admin.token, { types: ['UserRegistered'] }, 500);
      const stream = await openSse(test.yoga, AUDIT_FEED, { filter: { fromPosition: all[0]!.position, toPosition: all[1]!.position, types: ['UserRegistered'] } }, admin.token);
      try {
        expect((await nextFeedItem(stream)).item?.position).toBe(all[0]!.position);
        expect((await nextFeedItem(stream)).item?.position).toBe(all[1]!.position);
        expect((await nextFeedItem(stream)).ended).toBe(true);
      } finally {
        await stream.close();
      }
    });

    it('refuses a hostile filter', async () => {
      const stream = await openSse(test.yoga, AUDIT_FEED, { filter: { fromPosition: '1e9' } }, admin.token);
      try {
        expect((await nextFeedItem(stream)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      } finally {
        await stream.close();
      }
    });
  });

  describe('after an erasure', () => {
    it('the erased person\'s activity shows ids only, marked erased', async () => {
      const carol = await newUser(test.yoga, { email: uniqueEmail('carol'), displayName: 'Carol Capybara' });
      const conversation = await startConversation(test.yoga, carol.token, { title: 'Carolmarker title' });
      await ok(test.yoga, 'mutation($id: ID!) { eraseUser(id: $id) }', { id: carol.userId }, carol.token);
      const rows = await allPages(test.yoga, admin.token, { subjectId: carol.userId }, 500);
      expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['UserRegistered', 'ConversationStarted', 'UserDataErased']));
      for (const row of rows) expect(row.subjectErased, row.type).toBe(true);
      const started = rows.find((r) => r.type === 'ConversationStarted')!;
      expect(started.summary).toMatchObject({ conversationId: conversation.id, ownerId: carol.userId });
      expect(started.personalFields).toEqual(['title', 'systemPrompt']);
      const raw = JSON.stringify(rows);
      for (const secret of [carol.email, 'Carol Capybara', 'Carolmarker']) expect(raw, secret).not.toContain(secret);
      // Nothing about her remains anywhere in the audit tables either.
      const { rows: tableRows } = await test.app.readDb.query('SELECT * FROM audit_events');
      expect(JSON.stringify(tableRows)).not.toContain('Carolmarker');
      // Her session ended with the erasure: she can no longer ask.
      expect((await gql(test.yoga, MY_ACTIVITY, { first: 1 }, carol.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });
});
