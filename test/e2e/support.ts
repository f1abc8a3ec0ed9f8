// End-to-end helpers: real server processes (scripts/start.mjs, as npm start runs them), a real fake-provider process, and real clients
// (fetch, graphql-ws, graphql-sse, plain fetch SSE). Every child process is tracked and killed by
// `stopAllProcesses()` (call it in afterAll) and, as a last resort, when the test worker exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createClient as createWsClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { WebSocket } from 'ws';
import { vi } from 'vitest';
import { startScriptEnv } from '../../scripts/start-script-env.mjs';
import { skipReason } from '../support/requirements.ts';
import { TimeoutError, within } from '../support/within.ts';

/** What `npm start` runs: the launcher, which runs the server bundle (remade first when a source changed). */
export const MAIN = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url));
export const FAKE_PROVIDER = fileURLToPath(new URL('../support/fake-openai-server.ts', import.meta.url));

/** Upper bounds for waits, sized for a busy 2-core machine (a cold start there can take tens of seconds); each wait ends as soon as its event arrives. A bound that is hit fails the test with a message. */
export const START_TIMEOUT_MS = 120_000;
export const EVENT_TIMEOUT_MS = 20_000;
export const STOP_TIMEOUT_MS = 15_000;
// vitest.config.ts bounds every test and hook at 60 s, less than one cold start may take there; a test
// here may start several servers, so its own bound is a multiple of START_TIMEOUT_MS.
vi.setConfig({ testTimeout: 3 * START_TIMEOUT_MS, hookTimeout: 3 * START_TIMEOUT_MS });

export const DATABASE_URL = process.env.DATABASE_URL || undefined;
export const REDIS_URL = process.env.REDIS_URL || undefined;

/** Why a suite needing PostgreSQL and Redis skips, or undefined; throws instead under CI=true (test/support/requirements.ts). */
export function scaleOutSkipReason(suite: string): string | undefined {
  const missing = [DATABASE_URL ? null : 'DATABASE_URL', REDIS_URL ? null : 'REDIS_URL'].filter(Boolean);
  return skipReason(suite, missing.length === 0 ? undefined : `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`);
}

// --- bounded waits ------------------------------------------------------------------------------------

export { TimeoutError, within };

/** Polls `probe` until it returns a value other than undefined; bounded. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, ms = EVENT_TIMEOUT_MS, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new TimeoutError(`${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`, ms);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// --- child processes ----------------------------------------------------------------------------------

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

interface Spawned {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  exited: Promise<Exit>;
  /** Resolves with the first stdout line that matches; rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean, ms: number, what: string): Promise<string>;
}

function spawnTracked(args: string[], env: Record<string, string>, cwd: string): Spawned {
  const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  const watchers = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const watcher of watchers) {
      if (watcher.match(line)) {
        watchers.delete(watcher);
        watcher.resolve(line);
      }
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const describe = () => `\n--- stdout (last 20 lines)\n${lines.slice(-20).join('\n')}\n--- stderr\n${stderr.slice(-4000)}`;
  return {
    child, lines, exited, stderr: () => stderr,
    waitForLine(match, ms, what) {
      const existing = lines.find(match);
      if (existing !== undefined) return Promise.resolve(existing);
      let watcher: { match: (line: string) => boolean; resolve: (line: string) => void } | undefined;
      const found = new Promise<string>((resolve, reject) => {
        watcher = { match, resolve };
        watchers.add(watcher);
        void exited.then((exit) => reject(new Error(`process exited (${exit.code ?? exit.signal}) before: ${what}${describe()}`)));
      });
      return within(found, ms, () => `${what}${describe()}`).finally(() => watchers.delete(watcher!));
    },
  };
}

/** Sends `signal` and waits (bounded) for the exit; SIGKILL if the bound is hit. */
async function terminate(spawned: Spawned, signal: NodeJS.Signals, ms: number): Promise<Exit> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return spawned.exited;
  spawned.child.kill(signal);
  try {
    return await within(spawned.exited, ms, `exit after ${signal}`);
  } catch (error) {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    throw error;
  }
}

/** Kills (SIGKILL) every child still running. For afterAll, after the graceful stops. */
export async function stopAllProcesses(): Promise<void> {
  const exits = [...live].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  }));
  await Promise.all(exits);
}

// --- the fake provider process ------------------------------------------------------------------------

export interface ProviderProcess {
  /** Base URL with /v1, for OPENAI_BASE_URL. */
  url: string;
  stop(): Promise<Exit>;
}

export async function startFakeProvider(): Promise<ProviderProcess> {
  const spawned = spawnTracked([FAKE_PROVIDER, '--port', '0'], { PATH: process.env.PATH ?? '' }, tmpdir());
  const line = await spawned.waitForLine((l) => /^listening \d+$/.test(l), START_TIMEOUT_MS, 'fake provider prints "listening <port>"');
  const port = Number(line.split(' ')[1]);
  return { url: `http://127.0.0.1:${port}/v1`, stop: () => terminate(spawned, 'SIGTERM', STOP_TIMEOUT_MS) };
}

// --- the server process -------------------------------------------------------------------------------

export interface LogLine { level: number; msg: string; [key: string]: unknown }

export interface ServerProcess {
  /** The GraphQL endpoint, http://127.0.0.1:<port>/graphql. */
  url: string;
  /** The same endpoint as ws://. */
  wsUrl: string;
  pid: number;
  /** The 'Evident is ready' line. */
  ready: LogLine;
  /** Every JSON log line so far. */
  logs(): LogLine[];
  stderr(): string;
  exited: Promise<Exit>;
  /** Graceful stop (SIGTERM by default), bounded; resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** kill -9, and wait for it to be gone. */
  kill9(): Promise<Exit>;
}

export interface ServerOptions {
  dataDir: string;
  databaseUrl?: string;
  masterKey?: string;
  redisUrl?: string;
  providerUrl?: string;
  defaultModel?: string;
  /** Extra variables, e.g. LOG_LEVEL. */
  env?: Record<string, string>;
}

/**
 * Starts `node scripts/start.mjs` (what `npm start` runs) with PORT=0 and a clean environment (nothing
 * inherited but PATH, so a developer's DATABASE_URL or .env cannot leak in: the working directory is
 * the data directory), and waits for 'Evident is ready'.
 */
export async function startServer(options: ServerOptions): Promise<ServerProcess> {
  const env: Record<string, string> = {
    ...startScriptEnv(), PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', DATA_DIR: options.dataDir,
    // A loaded machine can hold a projection back for seconds: read-your-writes waits longer than by default,
    // but well inside one request's bound here (a mutation answered during a database outage waits it out).
    READ_YOUR_WRITES_TIMEOUT_MS: String(EVENT_TIMEOUT_MS / 2),
  };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.masterKey) env.MASTER_KEY = options.masterKey;
  if (options.redisUrl) env.REDIS_URL = options.redisUrl;
  if (options.providerUrl) env.OPENAI_BASE_URL = options.providerUrl;
  if (options.defaultModel) env.DEFAULT_MODEL = options.defaultModel;
  Object.assign(env, options.env);
  const spawned = spawnTracked([MAIN], env, options.dataDir);
  const logs = (): LogLine[] => spawned.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
  const line = await spawned.waitForLine((l) => l.includes('"Evident is ready"'), START_TIMEOUT_MS, 'server logs "Evident is ready"');
  const ready = JSON.parse(line) as LogLine;
  const url = String(ready.url);
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: spawned.child.pid!,
    ready,
    logs,
    stderr: spawned.stderr,
    exited: spawned.exited,
    stop: (signal = 'SIGTERM') => terminate(spawned, signal, STOP_TIMEOUT_MS),
    kill9: () => terminate(spawned, 'SIGKILL', STOP_TIMEOUT_MS),
  };
}

// --- temporary directories ----------------------------------------------------------------------------

const dirs: string[] = [];

export function tempDir(prefix = 'evident-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// --- GraphQL over plain fetch -------------------------------------------------------------------------

export interface GraphQLErrorShape { message: string; extensions?: { code?: string; [key: string]: unknown } }
export interface GraphQLResponse<T> { data?: T | null; errors?: GraphQLErrorShape[] }

export async function gqlRaw<T = Record<string, unknown>>(
  url: string, query: string, variables: Record<string, unknown> = {}, token?: string,
): Promise<GraphQLResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await within(fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }),
    EVENT_TIMEOUT_MS, `POST ${url}`);
  const text = await response.text();
  try {
    return JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new Error(`non-JSON answer (${response.status}): ${text.slice(0, 500)}`);
  }
}

/** Data of a query or mutation that must succeed. */
export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const result = await gqlRaw<T>(url, query, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors ?? result)}`);
  return result.data;
}

let userSequence = 0;

/** register → login; returns the bearer token. */
export async function signUp(url: string): Promise<{ token: string; userId: string; email: string }> {
  const email = `e2e-${process.pid}-${Date.now()}-${++userSequence}@example.test`;
  const password = 'correct horse battery staple';
  const registered = await gql<{ register: { id: string } }>(url,
    'mutation ($email: String!, $password: String!, $displayName: String!) { register(email: $email, password: $password, displayName: $displayName) { id } }',
    { email, password, displayName: 'E2E' });
  const login = await gql<{ login: { token: string; user: { id: string } } }>(url,
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }', { email, password });
  if (login.login.user.id !== registered.register.id) throw new Error('login returned another user');
  return { token: login.login.token, userId: registered.register.id, email };
}

export async function startConversation(url: string, token: string, model: string): Promise<string> {
  const data = await gql<{ startConversation: { id: string; model: string } }>(url,
    'mutation ($input: StartConversationInput) { startConversation(input: $input) { id model } }', { input: { model, title: 'e2e' } }, token);
  return data.startConversation.id;
}

export interface SentMessage { id: string; role: string; status: string; content: string }

export async function sendMessage(url: string, token: string, conversationId: string, content: string): Promise<SentMessage> {
  const data = await gql<{ sendMessage: SentMessage }>(url,
    'mutation ($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { id role status content } }',
    { id: conversationId, content }, token);
  return data.sendMessage;
}

export interface MessageView {
  id: string;
  role: 'USER' | 'ASSISTANT';
  status: string;
  content: string | null;
  inReplyTo: string | null;
  model: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  timeToFirstTokenMs: number | null;
  latencyMs: number | null;
  finishReason: string | null;
  errorCode: string | null;
  completedAt: string | null;
}

export const MESSAGE_FIELDS = 'id role status content inReplyTo model usage { promptTokens completionTokens totalTokens } timeToFirstTokenMs latencyMs finishReason errorCode completedAt';

/** Every message of a conversation, oldest first. */
export async function conversationMessages(url: string, token: string, conversationId: string): Promise<MessageView[]> {
  const data = await gql<{ conversation: { messages: { edges: Array<{ node: MessageView }> } } }>(url,
    `query ($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { ${MESSAGE_FIELDS} } } } } }`, { id: conversationId }, token);
  return data.conversation.messages.edges.map((edge) => edge.node);
}

// --- subscriptions ------------------------------------------------------------------------------------

export interface ConversationEvent {
  kind: string;
  conversationId: string;
  messageId: string | null;
  replyId: string | null;
  delta: string | null;
  offset: number | null;
  errorCode: string | null;
  message: MessageView | null;
}

export const CONVERSATION_EVENTS = `subscription ($id: ID!) {
  conversationEvents(conversationId: $id) { kind conversationId messageId replyId delta offset errorCode message { ${MESSAGE_FIELDS} } }
}`;

type ExecutionResultLike = { data?: unknown; errors?: readonly unknown[] | null };

/** An async queue of events from one subscription, read with bounded waits. */
export class EventFeed {
  readonly received: ConversationEvent[] = [];
  private read = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closer: () => Promise<void> = async () => {};
  private signalEnd!: (error: Error) => void;
  /** Rejects when the subscription ends or fails (for racing against a handshake). */
  readonly endedEarly: Promise<never>;

  readonly transport: string;

  constructor(transport: string) {
    this.transport = transport;
    this.endedEarly = new Promise<never>((_, reject) => { this.signalEnd = reject; });
    this.endedEarly.catch(() => {});
  }

  /** For the transports: a result arrived. */
  push(result: ExecutionResultLike): void {
    if (result.errors?.length) return this.fail(new Error(`subscription error: ${JSON.stringify(result.errors)}`));
    const event = (result.data as { conversationEvents?: ConversationEvent } | undefined)?.conversationEvents;
    if (!event) return this.fail(new Error(`unexpected subscription result: ${JSON.stringify(result)}`));
    this.received.push(event);
    this.wake?.();
  }

  fail(error: unknown): void {
    const close = error as { code?: unknown; reason?: unknown } | null;
    this.failure ??= error instanceof Error ? error
      : typeof close?.code === 'number' ? new Error(`${this.transport} connection closed: ${close.code} ${String(close.reason ?? '')}`)
        : new Error(`${this.transport} subscription failed: ${JSON.stringify(error)}`);
    this.end();
  }

  end(): void {
    this.ended = true;
    this.signalEnd(this.failure ?? new Error(`${this.transport} subscription ended`));
    this.wake?.();
  }

  onClose(closer: () => Promise<void>): void {
    this.closer = closer;
  }

  /** The next event not read yet; bounded. */
  async next(ms = EVENT_TIMEOUT_MS): Promise<ConversationEvent> {
    const deadline = Date.now() + ms;
    while (this.read >= this.received.length) {
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error(`${this.transport} subscription ended; received so far: ${this.kinds()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`next ${this.transport} event; received so far: ${this.kinds()}`, ms);
      await within(new Promise<void>((resolve) => { this.wake = resolve; }), left, `next ${this.transport} event`).catch(() => {});
    }
    return this.received[this.read++]!;
  }

  /** Reads events up to and including the first that matches; bounded overall. */
  async until(match: (event: ConversationEvent) => boolean, ms = EVENT_TIMEOUT_MS): Promise<ConversationEvent[]> {
    const deadline = Date.now() + ms;
    const events: ConversationEvent[] = [];
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()));
      events.push(event);
      if (match(event)) return events;
    }
  }

  kinds(): string {
    return this.received.map((e) => e.kind).join(',') || '(nothing)';
  }

  async close(): Promise<void> {
    this.end();
    await this.closer();
  }
}

export type Transport = 'graphql-ws' | 'graphql-sse' | 'fetch-sse';

export function subscribe(transport: Transport, server: Pick<ServerProcess, 'url' | 'wsUrl'>, token: string, conversationId: string): Promise<EventFeed> {
  switch (transport) {
    case 'graphql-ws': return subscribeWs(server.wsUrl, token, conversationId);
    case 'graphql-sse': return subscribeSse(server.url, token, conversationId);
    case 'fetch-sse': return subscribeFetchSse(server.url, token, conversationId);
  }
}

/** graphql-ws over a real WebSocket; resolves once the server acknowledged the connection. */
export async function subscribeWs(wsUrl: string, token: string, conversationId: string): Promise<EventFeed> {
  const feed = new EventFeed('graphql-ws');
  let connected!: () => void;
  const acknowledged = new Promise<void>((resolve) => { connected = resolve; });
  const client = createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { connected: () => connected(), closed: () => feed.end() },
  });
  const unsubscribe = client.subscribe({ query: CONVERSATION_EVENTS, variables: { id: conversationId } }, {
    next: (result) => feed.push(result),
    error: (error) => feed.fail(error),
    complete: () => feed.end(),
  });
  feed.onClose(async () => {
    unsubscribe();
    await client.dispose();
  });
  await within(Promise.race([acknowledged, feed.endedEarly]), EVENT_TIMEOUT_MS, 'graphql-ws connection_ack')
    .catch(async (error: unknown) => {
      await feed.close();
      throw error;
    });
  return feed;
}

/** graphql-sse in its default distinct-connections mode; resolves once the event stream is open. */
export async function subscribeSse(url: string, token: string, conversationId: string): Promise<EventFeed> {
  const feed = new EventFeed('graphql-sse');
  let connected!: () => void;
  const open = new Promise<void>((resolve) => { connected = resolve; });
  const client = createSseClient({
    url,
    headers: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { connected: () => connected() },
  });
  const dispose = client.subscribe({ query: CONVERSATION_EVENTS, variables: { id: conversationId } }, {
    next: (result) => feed.push(result),
    error: (error) => feed.fail(error),
    complete: () => feed.end(),
  });
  feed.onClose(async () => {
    dispose();
    client.dispose();
  });
  await within(Promise.race([open, feed.endedEarly]), EVENT_TIMEOUT_MS, 'graphql-sse connection').catch(async (error: unknown) => {
    await feed.close();
    throw error;
  });
  return feed;
}

/**
 * Plain `fetch` with `accept: text/event-stream`, parsing the stream by hand: `event: next` / `data:`
 * blocks (graphql-sse's distinct-connections protocol, which Yoga speaks), `event: complete` ends it.
 */
export async function subscribeFetchSse(url: string, token: string, conversationId: string): Promise<EventFeed> {
  const feed = new EventFeed('fetch-sse');
  const controller = new AbortController();
  const response = await within(fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: CONVERSATION_EVENTS, variables: { id: conversationId } }),
    signal: controller.signal,
  }), EVENT_TIMEOUT_MS, 'SSE response headers');
  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok || !contentType.startsWith('text/event-stream') || !response.body) {
    controller.abort();
    throw new Error(`expected an event stream, got ${response.status} ${contentType}: ${await response.text().catch(() => '')}`);
  }
  const contentEncoding = response.headers.get('content-encoding');
  if (contentEncoding && !['identity', 'none'].includes(contentEncoding)) feed.fail(new Error(`text/event-stream must not be compressed (got ${contentEncoding})`));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  feed.onClose(async () => {
    controller.abort();
    await reader.cancel().catch(() => {});
  });
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return feed.end();
      buffer += value.replace(/\r\n?/g, '\n');
      let boundary;
      while ((boundary = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':') || line === '') continue; // comment (keep-alive)
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = text;
          else if (field === 'data') data.push(text);
        }
        if (event === 'complete') return feed.end();
        if (data.length > 0 && (event === 'next' || event === 'message')) feed.push(JSON.parse(data.join('\n')) as ExecutionResultLike);
      }
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) feed.fail(error);
  });
  return feed;
}

// --- the streamed-reply scenario ----------------------------------------------------------------------

/**
 * fake-slow answers "You said: <text>" one word per chunk, 100 ms apart. (Not fake-slow-50: the fake
 * server serves it but does not list it in /v1/models, so startConversation refuses it with
 * MODEL_NOT_FOUND.)
 */
export const SLOW_MODEL = 'fake-slow';
export const QUESTION = 'please explain event sourcing in a few words';
export const expectedReply = (content: string) => `You said: ${content}`;

/**
 * Nothing tells a client when the server has registered a subscription; so before the message under
 * test, a warm-up message is sent and its whole reply awaited through the feed. Once an event has
 * arrived, the subscription is live, and every event of the next message must arrive.
 */
export async function warmUp(feed: EventFeed, url: string, token: string, conversationId: string): Promise<void> {
  await sendMessage(url, token, conversationId, 'warm up');
  await feed.until((event) => event.kind === 'REPLY_COMPLETED');
}

export interface StreamedReply {
  sent: SentMessage;
  events: ConversationEvent[];
  deltas: ConversationEvent[];
  replyId: string;
  completed: ConversationEvent;
}

/** Sends `content` through `sendUrl` and reads the feed until that reply ends (any REPLY_* end kind). */
export async function sendAndFollow(feed: EventFeed, sendUrl: string, token: string, conversationId: string, content: string): Promise<StreamedReply> {
  const sent = await sendMessage(sendUrl, token, conversationId, content);
  const ends = new Set(['REPLY_COMPLETED', 'REPLY_CANCELLED', 'REPLY_FAILED', 'REPLY_INTERRUPTED']);
  let replyId: string | null = null;
  const events = await feed.until((event) => {
    if (event.kind === 'REPLY_STARTED') replyId ??= event.replyId;
    return ends.has(event.kind) && replyId !== null && event.replyId === replyId;
  });
  return {
    sent, events, replyId: replyId!, completed: events.at(-1)!,
    deltas: events.filter((event) => event.kind === 'DELTA' && event.replyId === replyId),
  };
}

/** A message whose reply (on SLOW_MODEL) takes about ten seconds: long enough to stop it half-way. */
export const LONG_QUESTION = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');

export interface ReplyUnderway {
  conversationId: string;
  feed: EventFeed;
  sent: SentMessage;
  replyId: string;
  /** The text the subscriber has seen so far (at least two deltas). */
  seen: string;
}

/**
 * A conversation on SLOW_MODEL, created through `sendTo` and followed over graphql-ws on `listenOn`,
 * whose reply to LONG_QUESTION has streamed at least two deltas: a reply that is certainly in progress.
 * The caller closes `feed`.
 */
export async function replyUnderway(
  sendTo: Pick<ServerProcess, 'url'>, listenOn: Pick<ServerProcess, 'wsUrl'>, token: string,
): Promise<ReplyUnderway> {
  const conversationId = await startConversation(sendTo.url, token, SLOW_MODEL);
  const feed = await subscribeWs(listenOn.wsUrl, token, conversationId);
  try {
    await warmUp(feed, sendTo.url, token, conversationId);
    const sent = await sendMessage(sendTo.url, token, conversationId, LONG_QUESTION);
    let replyId: string | null = null;
    let deltas = 0;
    let seen = '';
    await feed.until((event) => {
      if (event.kind === 'REPLY_STARTED') replyId ??= event.replyId;
      if (event.kind === 'DELTA' && event.replyId === replyId) {
        seen += event.delta;
        deltas++;
      }
      return deltas >= 2;
    });
    return { conversationId, feed, sent, replyId: replyId!, seen };
  } catch (error) {
    await feed.close();
    throw error;
  }
}
