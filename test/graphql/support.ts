// Helpers for the in-process GraphQL tests: an app in a temp DATA_DIR with its own fake provider,
// requests through `yoga.fetch` (ARCHITECTURE.md §9), and a small SSE reader for subscriptions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { createGraphQLHandler } from '../../src/graphql/server.ts';
import type { EventStore, RecordedEvent } from '../../src/infra/event-store/port.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger, type Logger } from '../../src/infra/logger.ts';
import { startFakeOpenAiServer, type FakeOpenAiServer } from '../support/fake-openai-server.ts';

export const ENDPOINT = 'http://localhost/graphql';
/** Upper bound for any single wait in these tests (never a timed assertion, only a guard against hangs). */
export const WAIT_MS = 15_000;

export type Yoga = ReturnType<typeof createGraphQLHandler>;

export interface GqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: Record<string, unknown>;
  locations?: unknown;
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number;
  data: T | null | undefined;
  errors: GqlError[] | undefined;
  raw: string;
  headers: Headers;
}

export interface TestApp {
  app: App;
  yoga: Yoga;
  /** Null when the app was built without a provider. */
  fake: FakeOpenAiServer | null;
  dataDir: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Start a fake OpenAI-compatible server and point OPENAI_BASE_URL at it (default true). */
  provider?: boolean;
  env?: Record<string, string>;
  /** Default: silent. */
  logger?: Logger;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'evident-graphql-'));
  const fake = options.provider === false ? null : await startFakeOpenAiServer();
  let app: App;
  try {
    app = await createApp(loadConfig({
      DATA_DIR: dataDir,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      // Read-your-writes waits as long as the other waits here: a loaded machine can hold a projection back for seconds.
      READ_YOUR_WRITES_TIMEOUT_MS: String(WAIT_MS),
      ...(fake ? { OPENAI_BASE_URL: fake.url, DEFAULT_MODEL: 'fake-echo', PROVIDER_TIMEOUT_MS: '10000' } : {}),
      ...options.env,
    }), options.logger ?? createLogger('silent', false));
  } catch (error) {
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const yoga = createGraphQLHandler(app);
  return {
    app, yoga, fake, dataDir,
    async close() {
      await app.close();
      await fake?.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function headersFor(token: string | null | undefined, accept: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** One GraphQL request over HTTP semantics, in process. */
export async function gql<T = Record<string, unknown>>(
  yoga: Yoga, query: string, variables: Record<string, unknown> = {}, token?: string | null,
): Promise<GqlResult<T>> {
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: headersFor(token, 'application/graphql-response+json, application/json'),
    body: JSON.stringify({ query, variables }),
  });
  const raw = await response.text();
  let parsed: { data?: T | null; errors?: GqlError[] };
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch {
    throw new Error(`Response is not JSON (status ${response.status}): ${raw.slice(0, 500)}`);
  }
  return { status: response.status, data: parsed.data, errors: parsed.errors, raw, headers: response.headers };
}

/** The data of a request that must succeed; otherwise throws with the errors. */
export async function ok<T = Record<string, unknown>>(
  yoga: Yoga, query: string, variables: Record<string, unknown> = {}, token?: string | null,
): Promise<T> {
  const result = await gql<T>(yoga, query, variables, token);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL request failed: ${result.raw.slice(0, 2000)}`);
  return result.data;
}

/** The single error of a request that must fail. */
export async function fails(
  yoga: Yoga, query: string, variables: Record<string, unknown> = {}, token?: string | null,
): Promise<GqlError & { code: unknown; result: GqlResult }> {
  const result = await gql(yoga, query, variables, token);
  const error = result.errors?.[0];
  if (!error) throw new Error(`Expected an error, got: ${result.raw.slice(0, 2000)}`);
  return { ...error, code: error.extensions?.code, result };
}

// --- accounts ---------------------------------------------------------------------------------------

export const REGISTER = `mutation Register($email: String!, $password: String!, $displayName: String!) {
  register(email: $email, password: $password, displayName: $displayName) { id email displayName role active registeredAt }
}`;

export const LOGIN = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token expiresAt user { id email role } }
}`;

export const ME = '{ me { id email displayName role } }';

export interface TestUser {
  userId: string;
  email: string;
  password: string;
  token: string;
  role: string;
}

let userCounter = 0;

export const uniqueEmail = (prefix = 'user') => `${prefix}-${++userCounter}-${uuidv7().slice(-12)}@example.com`;

/** Registers a new account and logs it in. */
export async function newUser(yoga: Yoga, options: { email?: string; password?: string; displayName?: string } = {}): Promise<TestUser> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? `pw-${uuidv7()}`;
  const registered = await ok<{ register: { id: string; role: string } }>(yoga, REGISTER,
    { email, password, displayName: options.displayName ?? 'Test User' });
  const logged = await ok<{ login: { token: string } }>(yoga, LOGIN, { email, password });
  return { userId: registered.register.id, email, password, token: logged.login.token, role: registered.register.role };
}

// --- conversations ----------------------------------------------------------------------------------

export const MESSAGE_FIELDS = `id conversationId role content status inReplyTo model
  parameters { temperature topP maxTokens } usage { promptTokens completionTokens totalTokens }
  timeToFirstTokenMs latencyMs finishReason errorCode errorMessage createdAt completedAt`;

export const CONVERSATION_FIELDS = `id title model systemPrompt parameters { temperature topP maxTokens } archived messageCount
  createdAt updatedAt owner { id }`;

export const START = `mutation Start($input: StartConversationInput) { startConversation(input: $input) { ${CONVERSATION_FIELDS} } }`;

export const CONVERSATION = `query Conversation($id: ID!) {
  conversation(id: $id) { ${CONVERSATION_FIELDS} messages(first: 100) { edges { cursor node { ${MESSAGE_FIELDS} } } pageInfo { hasNextPage } } }
}`;

export const SEND = `mutation Send($conversationId: ID!, $content: String!) { sendMessage(conversationId: $conversationId, content: $content) { ${MESSAGE_FIELDS} } }`;

export const CANCEL = `mutation Cancel($conversationId: ID!, $replyId: ID!) { cancelReply(conversationId: $conversationId, replyId: $replyId) { ${MESSAGE_FIELDS} } }`;

export interface ConversationView {
  id: string;
  title: string | null;
  model: string;
  systemPrompt: string | null;
  parameters: { temperature: number | null; topP: number | null; maxTokens: number | null };
  archived: boolean;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  owner: { id: string };
}

export interface MessageView {
  id: string;
  conversationId: string;
  role: 'USER' | 'ASSISTANT';
  content: string | null;
  status: string;
  inReplyTo: string | null;
  model: string | null;
  parameters: { temperature: number | null; topP: number | null; maxTokens: number | null } | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number } | null;
  timeToFirstTokenMs: number | null;
  latencyMs: number | null;
  finishReason: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  completedAt: string | null;
}

export async function startConversation(yoga: Yoga, token: string, input: Record<string, unknown> = {}): Promise<ConversationView> {
  return (await ok<{ startConversation: ConversationView }>(yoga, START, { input }, token)).startConversation;
}

export async function getConversation(yoga: Yoga, token: string, id: string) {
  return (await ok<{ conversation: ConversationView & { messages: { edges: Array<{ cursor: string; node: MessageView }> } } }>(
    yoga, CONVERSATION, { id }, token)).conversation;
}

// --- subscriptions over SSE ------------------------------------------------------------------------

export const CONVERSATION_EVENTS = `subscription Events($conversationId: ID!) {
  conversationEvents(conversationId: $conversationId) {
    kind conversationId messageId replyId delta offset errorCode errorMessage
    message { ${MESSAGE_FIELDS} }
  }
}`;

export interface SseFrame {
  event: string;
  data: string;
}

export interface FeedEvent {
  kind: string;
  conversationId: string;
  messageId: string | null;
  replyId: string | null;
  delta: string | null;
  offset: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  message: MessageView | null;
}

/** A GraphQL-over-SSE ("distinct connections") response read frame by frame. */
export class SseStream {
  readonly status: number;
  readonly contentType: string | null;
  readonly frames: SseFrame[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private ended = false;
  private closed = false;
  /** A read still in flight after a wait gave up; the next wait picks it up (never lose a chunk). */
  private pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;

  constructor(response: Response) {
    this.status = response.status;
    this.contentType = response.headers.get('content-type');
    if (!response.body) throw new Error('SSE response has no body');
    this.reader = response.body.getReader();
  }

  get done(): boolean {
    return this.ended;
  }

  /** The next frame (comments/pings skipped), or null when the stream ended. Bounded by `timeoutMs`. */
  async nextFrame(timeoutMs = WAIT_MS): Promise<SseFrame | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.takeFrame();
      if (frame) return frame;
      if (this.ended) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`No SSE frame within ${timeoutMs} ms; frames so far: ${JSON.stringify(this.frames)}`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), remaining); });
      this.pending ??= this.reader.read();
      const read = await Promise.race([this.pending, timeout]).finally(() => clearTimeout(timer));
      if (read === 'timeout') continue;
      this.pending = null;
      if (read.done) {
        this.buffer += this.decoder.decode();
        this.ended = true;
        if (this.buffer.trim() !== '') this.buffer += '\n\n';
      } else {
        this.buffer += this.decoder.decode(read.value, { stream: true });
      }
    }
  }

  private takeFrame(): SseFrame | null {
    for (;;) {
      const normalized = this.buffer.replace(/\r\n?/g, '\n');
      const end = normalized.indexOf('\n\n');
      if (end === -1) {
        this.buffer = normalized;
        return null;
      }
      const block = normalized.slice(0, end);
      this.buffer = normalized.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      let sawField = false;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        sawField = true;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (!sawField) continue; // a ping
      const frame = { event, data: data.join('\n') };
      this.frames.push(frame);
      return frame;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader.cancel().catch(() => {});
  }
}

export async function openSse(yoga: Yoga, query: string, variables: Record<string, unknown>, token?: string | null): Promise<SseStream> {
  const response = await yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: headersFor(token, 'text/event-stream'),
    body: JSON.stringify({ query, variables }),
  });
  return new SseStream(response);
}

/**
 * A live conversationEvents subscription. `open` returns only once the server-side subscription is
 * proven live: it publishes probe DELTAs on the pub/sub until one arrives, so no event sent after
 * `open` can be missed. Probes are filtered out of what `next` returns.
 */
export class ConversationFeed {
  readonly events: FeedEvent[] = [];
  readonly stream: SseStream;
  private readonly probePrefix: string;

  private constructor(stream: SseStream, probePrefix: string) {
    this.stream = stream;
    this.probePrefix = probePrefix;
  }

  static async open(test: TestApp, conversationId: string, token: string): Promise<ConversationFeed> {
    const stream = await openSse(test.yoga, CONVERSATION_EVENTS, { conversationId }, token);
    if (stream.status !== 200) throw new Error(`subscription answered ${stream.status}`);
    const probePrefix = `probe-${uuidv7()}`;
    const feed = new ConversationFeed(stream, probePrefix);
    let stop = false;
    let n = 0;
    const prober = (async () => {
      while (!stop) {
        test.app.pubsub.publish('conversation', conversationId, { kind: 'DELTA', replyId: `${probePrefix}-${n++}`, delta: '', offset: 0 });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    try {
      for (;;) {
        const frame = await stream.nextFrame();
        if (!frame) throw new Error(`subscription ended before it went live: ${JSON.stringify(stream.frames)}`);
        const payload = JSON.parse(frame.data) as { data?: { conversationEvents?: FeedEvent }; errors?: unknown };
        if (payload.errors) throw new Error(`subscription failed: ${frame.data}`);
        if (payload.data?.conversationEvents?.replyId?.startsWith(probePrefix)) break;
      }
    } catch (error) {
      stop = true;
      await prober;
      await stream.close();
      throw error;
    }
    stop = true;
    await prober;
    return feed;
  }

  /** The next real event (probes skipped), or null when the subscription ended. */
  async next(timeoutMs = WAIT_MS): Promise<FeedEvent | null> {
    for (;;) {
      const frame = await this.stream.nextFrame(timeoutMs);
      if (!frame || frame.event === 'complete') return null;
      const payload = JSON.parse(frame.data) as { data?: { conversationEvents?: FeedEvent }; errors?: unknown };
      if (payload.errors) throw new Error(`subscription delivered errors: ${frame.data}`);
      const event = payload.data?.conversationEvents;
      if (!event) throw new Error(`unexpected frame: ${frame.data}`);
      if (event.replyId?.startsWith(this.probePrefix)) continue;
      this.events.push(event);
      return event;
    }
  }

  /** Collects events until one satisfies `until` (included); throws if the stream ends first. */
  async collectUntil(until: (event: FeedEvent) => boolean, timeoutMs = WAIT_MS): Promise<FeedEvent[]> {
    const collected: FeedEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = await this.next(Math.max(1, deadline - Date.now()));
      if (!event) throw new Error(`subscription ended early; got ${JSON.stringify(collected.map((e) => e.kind))}`);
      collected.push(event);
      if (until(event)) return collected;
    }
  }

  close(): Promise<void> {
    return this.stream.close();
  }
}

export const TERMINAL_KINDS = new Set(['REPLY_COMPLETED', 'REPLY_FAILED', 'REPLY_CANCELLED', 'REPLY_INTERRUPTED']);

/** Bounded wait for a condition checked by polling (for state that has no push signal). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Races a promise against a bound, so a test never hangs on it. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- the log ----------------------------------------------------------------------------------------

/** Every event in the log (decrypted, as the app sees it), in order. */
export async function readWholeLog(store: EventStore): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let after = 0n;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: 1000 });
    all.push(...batch);
    if (batch.length < 1000) return all;
    after = batch[batch.length - 1]!.position;
  }
}

/** JSON of events, bigints as strings. */
export const eventsJson = (events: readonly RecordedEvent[]) =>
  JSON.stringify(events, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
