// Every action is an event with its actor (docs/audit.md, "What is recorded"): each mutation through
// GraphQL appends events whose metadata names the actor and the request, and what reactors append
// for it carries the causing event and the same correlation.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import { ReplyReactor } from '../../src/projections/reply-reactor.ts';
import { testLogger } from '../projections/runner.contract.ts';
import {
  CANCEL, ConversationFeed, ENDPOINT, eventually, fails, gql, LOGIN, newUser, ok, REGISTER, SEND, startConversation, startTestApp,
  TERMINAL_KINDS, uniqueEmail, type MessageView, type TestApp, type TestUser,
} from './support.ts';

const PASSWORD = 'correct horse battery';

async function eventsAfter(t: TestApp, after: bigint): Promise<RecordedEvent[]> {
  return t.app.store.readAll({ after, maxCount: 10_000 });
}

/** Runs `action` and returns the events appended meanwhile (including what reactors appended for it by then). */
async function appendedBy(t: TestApp, action: () => Promise<unknown>): Promise<RecordedEvent[]> {
  const head = await t.app.store.headPosition();
  await action();
  return eventsAfter(t, head);
}

/** The events of one request: one actor, one request id, one correlation. */
function expectOneRequest(events: readonly RecordedEvent[], actorId: string, what: string) {
  expect(events.length, `${what} appends events`).toBeGreaterThan(0);
  for (const event of events) {
    expect(event.metadata.actorId, `${what}: ${event.type} actor`).toBe(actorId);
    expect(event.metadata.requestId, `${what}: ${event.type} request id`).toMatch(/^[0-9a-f-]{36}$/);
  }
  expect(new Set(events.map((e) => e.metadata.requestId)).size, `${what}: one request id`).toBe(1);
  expect(new Set(events.map((e) => e.metadata.correlationId)).size, `${what}: one correlation`).toBe(1);
}

async function upload(t: TestApp, token: string, text: string, name: string): Promise<string> {
  const query = 'mutation Upload($file: File!, $name: String) { uploadDocument(file: $file, name: $name) { documentId } }';
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables: { file: null, name } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([text], name, { type: 'text/markdown' }));
  const response = await t.yoga.fetch(ENDPOINT, { method: 'POST', body: form, headers: { [CSRF_HEADER]: '1', authorization: `Bearer ${token}` } });
  const body = await response.json() as { data?: { uploadDocument: { documentId: string } } };
  if (!body.data) throw new Error(`upload failed: ${JSON.stringify(body)}`);
  return body.data.uploadDocument.documentId;
}

describe('every mutation appends events with its actor and request id (sweep)', () => {
  let t: TestApp;
  let admin: TestUser;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await newUser(t.yoga); // the first account: admin
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accounts: register, login, changePassword, logout', async () => {
    const email = uniqueEmail('sweep');
    let userId = '';
    const registered = await appendedBy(t, async () => {
      userId = (await ok<{ register: { id: string } }>(t.yoga, REGISTER, { email, password: PASSWORD, displayName: 'Sweep' })).register.id;
    });
    expectOneRequest(registered, userId, 'register');
    let token = '';
    const loggedIn = await appendedBy(t, async () => {
      token = (await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email, password: PASSWORD })).login.token;
    });
    expectOneRequest(loggedIn, userId, 'login');
    expect(loggedIn.map((e) => e.type)).toEqual(['SessionStarted', 'LoginSucceeded']);
    const changed = await appendedBy(t, async () => {
      token = (await ok<{ changePassword: { token: string } }>(t.yoga,
        'mutation { changePassword(currentPassword: "correct horse battery", newPassword: "another long password") { token } }', {}, token)).changePassword.token;
    });
    expectOneRequest(changed, userId, 'changePassword');
    const loggedOut = await appendedBy(t, () => ok(t.yoga, 'mutation { logout }', {}, token));
    expectOneRequest(loggedOut, userId, 'logout');
    expect(loggedOut.map((e) => e.type)).toEqual(['SessionEnded']);
  });

  it('conversations: start, rename, archive, unarchive, knowledge, send (and the reply reactor), cancel, delete', async () => {
    let conversationId = '';
    expectOneRequest(await appendedBy(t, async () => {
      conversationId = (await startConversation(t.yoga, user.token, { model: 'fake-echo', title: 'Sweep' })).id;
    }), user.userId, 'startConversation');
    const simple = [
      ['renameConversation', `mutation { renameConversation(id: "${conversationId}", title: "Renamed") { id } }`],
      ['archiveConversation', `mutation { archiveConversation(id: "${conversationId}") { id } }`],
      ['unarchiveConversation', `mutation { unarchiveConversation(id: "${conversationId}") { id } }`],
    ] as const;
    for (const [name, mutation] of simple) expectOneRequest(await appendedBy(t, () => ok(t.yoga, mutation, {}, user.token)), user.userId, name);
    const kb = await appendedBy(t, () => ok(t.yoga, 'mutation { createKnowledgeBase(name: "Sweep KB") { id } }', {}, user.token));
    expectOneRequest(kb, user.userId, 'createKnowledgeBase');
    const knowledgeBaseId = (kb[0]!.data as { knowledgeBaseId: string }).knowledgeBaseId;
    expectOneRequest(await appendedBy(t, () => ok(t.yoga,
      `mutation { setConversationKnowledge(conversationId: "${conversationId}", knowledgeBaseIds: ["${knowledgeBaseId}"], documentIds: []) { id } }`,
      {}, user.token)), user.userId, 'setConversationKnowledge');
    expectOneRequest(await appendedBy(t, () => ok(t.yoga,
      `mutation { setConversationKnowledge(conversationId: "${conversationId}", knowledgeBaseIds: [], documentIds: []) { id } }`,
      {}, user.token)), user.userId, 'setConversationKnowledge (detach)');

    // sendMessage: the message is the user's; the reply reactor's events are caused by it and share its correlation.
    const feed = await ConversationFeed.open(t, conversationId, user.token);
    const head = await t.app.store.headPosition();
    try {
      await ok(t.yoga, SEND, { conversationId, content: 'a question for the sweep' }, user.token);
      await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind));
    } finally {
      await feed.close();
    }
    const conversationEvents = (await eventsAfter(t, head)).filter((e) => e.stream === conversationStream(conversationId));
    const [message, ...reply] = conversationEvents;
    expect(message!.type).toBe('UserMessageSent');
    expectOneRequest([message!], user.userId, 'sendMessage');
    expect(reply.map((e) => e.type)).toEqual(['AssistantReplyStarted', 'AssistantReplyCompleted']);
    for (const event of reply) {
      expect(event.metadata).toMatchObject({
        actorId: 'system:assistant-replies', causationId: message!.id, correlationId: message!.metadata.correlationId,
      });
    }

    expectOneRequest(await appendedBy(t, () => ok(t.yoga, `mutation { deleteConversation(id: "${conversationId}") }`, {}, user.token)),
      user.userId, 'deleteConversation');
  });

  it('cancelReply: the cancellation recorded by the reactor names the person who cancelled and their request', async () => {
    const { id: conversationId } = await startConversation(t.yoga, user.token, { model: 'fake-slow-200' });
    const feed = await ConversationFeed.open(t, conversationId, user.token);
    let sent: MessageView;
    try {
      sent = (await ok<{ sendMessage: MessageView }>(t.yoga, SEND, { conversationId, content: Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ') },
        user.token)).sendMessage;
      const started = await feed.collectUntil((e) => e.kind === 'DELTA');
      const replyId = started.find((e) => e.kind === 'REPLY_STARTED')!.replyId!;
      await ok(t.yoga, CANCEL, { conversationId, replyId }, user.token);
    } finally {
      await feed.close();
    }
    const log = await t.app.store.readStream(conversationStream(conversationId));
    const message = log.find((e) => e.type === 'UserMessageSent')!;
    expect((message.data as { messageId: string }).messageId).toBe(sent.id);
    const cancelled = log.find((e) => e.type === 'AssistantReplyCancelled')!;
    expect(cancelled.metadata.actorId).toBe(user.userId);
    expect(cancelled.metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cancelled.metadata.requestId).not.toBe(message.metadata.requestId);
    expect(cancelled.metadata).toMatchObject({ causationId: message.id, correlationId: message.metadata.correlationId });
  });

  it('documents and knowledge bases: upload (and ingestion), rename, add, remove, delete', async () => {
    let documentId = '';
    const uploaded = await appendedBy(t, async () => {
      documentId = await upload(t, user.token, '# Sweep\n\nSome text for the sweep test.', 'sweep.md');
    });
    const uploadEvent = uploaded.find((e) => e.type === 'DocumentUploaded')!;
    expectOneRequest([uploadEvent], user.userId, 'uploadDocument');
    // Ingestion is the reactor's: caused by the upload, in its correlation.
    const ingestion = await eventually(async () => {
      const events = (await t.app.store.readStream(`document-${documentId}`)).filter((e) => e.id !== uploadEvent.id);
      return events.some((e) => e.type === 'DocumentIndexed' || e.type === 'DocumentIngestionFailed') ? events : null;
    }, 'the document to be ingested');
    for (const event of ingestion) {
      expect(event.metadata, event.type).toMatchObject({ actorId: 'system:ingestion', causationId: uploadEvent.id, correlationId: uploadEvent.metadata.correlationId });
    }
    const kb = await appendedBy(t, () => ok(t.yoga, 'mutation { createKnowledgeBase(name: "Docs KB") { id } }', {}, user.token));
    const knowledgeBaseId = (kb[0]!.data as { knowledgeBaseId: string }).knowledgeBaseId;
    const steps = [
      ['renameDocument', `mutation { renameDocument(id: "${documentId}", name: "renamed.md") { __typename } }`],
      ['renameKnowledgeBase', `mutation { renameKnowledgeBase(id: "${knowledgeBaseId}", name: "Renamed KB") { __typename } }`],
      ['addDocumentToKnowledgeBase', `mutation { addDocumentToKnowledgeBase(knowledgeBaseId: "${knowledgeBaseId}", documentId: "${documentId}") { __typename } }`],
      ['removeDocumentFromKnowledgeBase', `mutation { removeDocumentFromKnowledgeBase(knowledgeBaseId: "${knowledgeBaseId}", documentId: "${documentId}") { __typename } }`],
      ['deleteKnowledgeBase', `mutation { deleteKnowledgeBase(id: "${knowledgeBaseId}") }`],
      ['deleteDocument', `mutation { deleteDocument(id: "${documentId}") }`],
    ] as const;
    for (const [name, mutation] of steps) {
      const events = (await appendedBy(t, () => ok(t.yoga, mutation, {}, user.token))).filter((e) => e.metadata.actorId !== 'system:ingestion');
      expectOneRequest(events, user.userId, name);
    }
  });

  it('admin: rebuildProjection, deactivateUser, eraseUser are the admin\'s', async () => {
    const rebuilt = await appendedBy(t, () => ok(t.yoga, 'mutation { rebuildProjection(name: "users") { name } }', {}, admin.token));
    expectOneRequest(rebuilt, admin.userId, 'rebuildProjection');
    expect(rebuilt.map((e) => e.type)).toEqual(['ProjectionRebuildRequested', 'ProjectionRebuilt']);
    expect(rebuilt[1]!.data).toEqual({ projection: 'users', position: expect.stringMatching(/^\d+$/) });

    const victim = await newUser(t.yoga);
    expectOneRequest(await appendedBy(t, () => ok(t.yoga, `mutation { deactivateUser(id: "${victim.userId}", reason: "sweep") { id } }`, {}, admin.token)),
      admin.userId, 'deactivateUser');
    const other = await newUser(t.yoga);
    expectOneRequest(await appendedBy(t, () => ok(t.yoga, `mutation { eraseUser(id: "${other.userId}") }`, {}, admin.token)), admin.userId, 'eraseUser');
  });

  it('the whole log: every event has a request id or is a system action with its cause; only anonymous login attempts lack an actor', async () => {
    const anonymous = new Set(['LoginFailed', 'LoginThrottled']);
    for (const event of await eventsAfter(t, -1n)) {
      const { actorId, requestId, causationId, correlationId } = event.metadata;
      expect(correlationId, `${event.type} correlation`).toBeTruthy();
      if (actorId?.startsWith('system:')) {
        expect(causationId, `${event.type} by ${actorId}: its cause`).toBeTruthy();
      } else {
        expect(requestId, `${event.type}: request id`).toBeTruthy();
        if (!anonymous.has(event.type)) expect(actorId, `${event.type}: actor`).toBeTruthy();
      }
    }
  });
});

describe('gaps filled', () => {
  let t: TestApp;
  let server: RunningServer;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ env: { SESSION_TTL_HOURS: '0.0003' } }); // about a second
    user = await newUser(t.yoga);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('a login is the user\'s; its session records client address and user agent, encrypted (never plaintext in the log files)', async () => {
    const agent = `EvidentAuditAgent/${Date.now()}`;
    const head = await t.app.store.headPosition();
    const response = await fetch(server.url, {
      method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': agent },
      body: JSON.stringify({ query: LOGIN, variables: { email: user.email, password: user.password } }),
    });
    expect(response.status).toBe(200);
    const started = (await eventsAfter(t, head)).find((e) => e.type === 'SessionStarted')!;
    expect(started.metadata.actorId).toBe(user.userId);
    expect(started.schemaVersion).toBe(2);
    expect(started.data).toMatchObject({ userId: user.userId, userAgent: agent, clientAddress: expect.stringContaining('127.0.0.1') });
    const files = readdirSync(t.dataDir).filter((name) => name.startsWith('events.sqlite'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) expect(readFileSync(join(t.dataDir, name)).includes(agent), name).toBe(false);
  });

  it('a version-1 SessionStarted reads with unknown address and agent', async () => {
    const { domainUpcasting } = await import('../../src/domain/event-versions.ts');
    const v1 = { type: 'SessionStarted', schemaVersion: 1, data: { sessionId: 's', userId: 'u', tokenHash: 'a'.repeat(64), expiresAt: 'x' } };
    expect(domainUpcasting.upcast(v1)).toEqual({ ...v1, schemaVersion: 2, data: { ...v1.data, clientAddress: null, userAgent: null } });
  });

  it('a login with something that is not an email address is a recorded failure', async () => {
    const events = await appendedBy(t, () => fails(t.yoga, LOGIN, { email: 'not an address', password: 'whatever it is' }));
    expect(events.map((e) => e.type)).toEqual(['LoginFailed']);
    expect(events[0]!.data).toMatchObject({ userId: null, reason: 'unknown_email' });
    expect(events[0]!.metadata.requestId).toBeTruthy();
  });

  it('a throttled login is recorded as LoginThrottled, with the account it was aimed at', async () => {
    const target = await newUser(t.yoga);
    let throttled: RecordedEvent | undefined;
    for (let attempt = 0; attempt < 30 && !throttled; attempt++) {
      const events = await appendedBy(t, () => gql(t.yoga, LOGIN, { email: target.email, password: 'wrong password here' }));
      throttled = events.find((e) => e.type === 'LoginThrottled');
    }
    expect(throttled, 'some attempt was throttled').toBeDefined();
    expect(throttled!.data).toMatchObject({ userId: target.userId, retryAfterSeconds: expect.any(Number) });
    expect(throttled!.metadata.requestId).toBeTruthy();
  });

  it('a session whose expiry passed without a logout is recorded as SessionExpired by the sweep', async () => {
    const session = await newUser(t.yoga);
    const started = (await t.app.store.readAll({ maxCount: 100_000 }))
      .filter((e) => e.type === 'SessionStarted' && (e.data as { userId: string }).userId === session.userId).at(-1)!;
    const { sessionId, expiresAt } = started.data as { sessionId: string; expiresAt: string };
    await eventually(async () => Date.now() > Date.parse(expiresAt) + 10, 'the session to pass its expiry');
    await eventually(async () => (await t.app.sessionExpiry.sweep()) >= 0 && (await t.app.store.readStream(`session-${sessionId}`))
      .some((e) => e.type === 'SessionExpired'), 'the expiry to be recorded');
    const expired = (await t.app.store.readStream(`session-${sessionId}`)).find((e) => e.type === 'SessionExpired')!;
    expect(expired.data).toEqual({ sessionId, userId: session.userId, expiresAt });
    expect(expired.metadata.actorId).toBe('system:session-expiry');
    expect(expired.metadata.causationId).toBe(started.id);
  });
});

describe('an orphaned reply\'s interruption', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp();
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is caused by, and correlated with, the start of the reply that never finished', async () => {
    await t.app.replies.stop();
    const { id: conversationId } = await startConversation(t.yoga, user.token, { model: 'fake-echo' });
    await ok(t.yoga, SEND, { conversationId, content: 'nobody answers this' }, user.token);
    const message = (await t.app.store.readStream(conversationStream(conversationId))).find((e) => e.type === 'UserMessageSent')!;
    const messageId = (message.data as { messageId: string }).messageId;
    // A reply started by a process that then died.
    const startedBy = { ...t.app.commandContext('system:assistant-replies'), causationId: message.id, correlationId: message.metadata.correlationId };
    const started = await t.app.conversations.run({ type: 'StartAssistantReply', conversationId, replyId: `${messageId}-r`, inReplyTo: messageId, model: 'fake-echo' }, startedBy);
    await t.app.projections.waitFor(started.position!, { projections: ['conversations'], timeoutMs: 15_000 });
    const startedEvent = (await t.app.store.readStream(conversationStream(conversationId))).find((e) => e.type === 'AssistantReplyStarted')!;

    const reactor = new ReplyReactor({
      store: t.app.store, readDb: t.app.readDb, projections: t.app.projections, providers: t.app.providers, pubsub: t.app.pubsub,
      logger: testLogger().logger, newContext: () => t.app.commandContext('system:assistant-replies'), leaseRetryMs: 20, errorBackoffMs: 20,
    });
    reactor.start();
    try {
      const interrupted = await eventually(async () => (await t.app.store.readStream(conversationStream(conversationId)))
        .find((e) => e.type === 'AssistantReplyInterrupted'), 'the orphan to be interrupted');
      expect(interrupted.metadata).toMatchObject({ causationId: startedEvent.id, correlationId: message.metadata.correlationId });
    } finally {
      await reactor.stop();
    }
  });
});
