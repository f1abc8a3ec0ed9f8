import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, startServer, type RunningServer } from '../../src/graphql/server.ts';
import {
  ConversationFeed, fails, getConversation, gql, newUser, ok, SEND, startConversation, startTestApp, TERMINAL_KINDS,
  type TestApp, type TestUser,
} from './support.ts';


const START = 'mutation S($input: StartConversationInput) { startConversation(input: $input) { id } }';
const SECRET = 'secret-internal-detail /srv/evident/src/db.ts password=hunter2';

/** A logger whose JSON lines the test can read. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  return { logger, lines };
}

function expectMasked(raw: string, error: { message: string; extensions?: Record<string, unknown> } | undefined) {
  expect(error?.message).toBe('Unexpected error');
  expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  expect(Object.keys(error?.extensions ?? {}).sort()).toEqual(['code', 'requestId']);
  expect(raw).not.toContain('secret-internal-detail');
  expect(raw).not.toContain('hunter2');
  expect(raw).not.toMatch(/stack|\.ts:\d+|node_modules|at [\w.<>]+ \(/i);
}

describe('GraphQL limits and errors', () => {
  let t: TestApp;
  let user: TestUser;
  let lines: Array<Record<string, unknown>>;

  beforeAll(async () => {
    const captured = capturingLogger();
    lines = captured.lines;
    t = await startTestApp({ logger: captured.logger });
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('input limits', () => {
    it('a message over 32000 characters is BAD_USER_INPUT naming the limit; 32000 is accepted', async () => {
      const conversation = await startConversation(t.yoga, user.token);
      const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'x'.repeat(32_001) }, user.token);
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain('32000');
      expect((await getConversation(t.yoga, user.token, conversation.id)).messageCount).toBe(0);

      const feed = await ConversationFeed.open(t, conversation.id, user.token);
      try {
        const sent = await ok<{ sendMessage: { content: string } }>(t.yoga, SEND, { conversationId: conversation.id, content: 'y'.repeat(32_000) }, user.token);
        expect(sent.sendMessage.content).toHaveLength(32_000);
        expect((await feed.collectUntil((e) => TERMINAL_KINDS.has(e.kind))).at(-1)!.kind).toBe('REPLY_COMPLETED');
      } finally {
        await feed.close();
      }
    });

    it('a system prompt over 20000 characters and a model name over 200 are BAD_USER_INPUT naming the limit', async () => {
      const prompt = await fails(t.yoga, START, { input: { systemPrompt: 's'.repeat(20_001) } }, user.token);
      expect(prompt.code).toBe('BAD_USER_INPUT');
      expect(prompt.message).toContain('20000');
      const model = await fails(t.yoga, START, { input: { model: 'm'.repeat(201) } }, user.token);
      expect(model.code).toBe('BAD_USER_INPUT');
      expect(model.message).toContain('200');
    });

    it('GraphQL syntax and validation errors keep their own codes', async () => {
      const syntax = await gql(t.yoga, '{ conversations(first: ');
      expect(syntax.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
      const unknownField = await gql(t.yoga, '{ nope }');
      expect(unknownField.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    // Fails today: src/graphql/errors.ts exposedError() returns undefined for a GraphQLError that has no
    // extensions.code and no (non-GraphQL) originalError, which is what graphql-js produces when variables
    // do not match their types. maskError then hides the reason behind "Unexpected error" and logs a
    // client mistake as a server error.
    it('variables of the wrong type, or missing, are BAD_USER_INPUT with the reason, not masked', async () => {
      const logged = lines.length;
      const wrongType = await gql(t.yoga, START, { input: { title: 42 } }, user.token);
      expect(wrongType.errors?.[0]?.message).toContain('$input');
      expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const missing = await gql(t.yoga, 'query($n: Int!) { conversations(first: $n) { edges { cursor } } }', {}, user.token);
      expect(missing.errors?.[0]?.message).toContain('$n');
      expect(missing.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(lines.slice(logged).filter((line) => line.msg === 'unexpected error')).toEqual([]);
    });
  });

  describe('unexpected errors', () => {
    async function withBrokenModels<T>(run: () => Promise<T>): Promise<T> {
      const original = t.app.providers.listModels;
      t.app.providers.listModels = async () => { throw new Error(SECRET); };
      try {
        return await run();
      } finally {
        t.app.providers.listModels = original;
      }
    }

    it('are masked: "Unexpected error", INTERNAL_SERVER_ERROR, no stack, no detail; and logged with the detail', async () => {
      const result = await withBrokenModels(() => gql(t.yoga, '{ models { id } }', {}, user.token));
      expect(result.data).toBeNull();
      expectMasked(result.raw, result.errors?.[0]);
      const logged = lines.find((line) => line.msg === 'unexpected error' && JSON.stringify(line).includes('secret-internal-detail'));
      expect(logged).toBeDefined();
    });

    // Fails today: the request id comes only from the AsyncLocalStorage that the express middleware of
    // startServer sets up (src/graphql/server.ts). Through yoga.fetch (or any other adapter) maskError
    // finds none and sends requestId: null, although the context has one (context.requestId).
    it('carry a requestId in extensions, also when served in process', async () => {
      const result = await withBrokenModels(() => gql(t.yoga, '{ models { id } }', {}, user.token));
      const requestId = result.errors?.[0]?.extensions?.requestId;
      expect(requestId).toEqual(expect.any(String));
      expect(String(requestId)).toMatch(/^[0-9a-f-]{36}$/);
      const logged = lines.filter((line) => line.msg === 'unexpected error').at(-1);
      expect(logged?.requestId).toBe(requestId);
    });

    describe('over HTTP (startServer)', () => {
      let server: RunningServer;
      beforeAll(async () => {
        server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
      });
      afterAll(async () => {
        await server?.close();
      });

      const post = (body: string, headers: Record<string, string> = {}) => fetch(server.url, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body,
      });

      it('the masked error carries the request id of the response and of the log line', async () => {
        const response = await withBrokenModels(() => post(JSON.stringify({ query: '{ models { id } }' }), { authorization: `Bearer ${user.token}` }));
        const raw = await response.text();
        const body = JSON.parse(raw) as { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
        expectMasked(raw, body.errors?.[0]);
        const requestId = response.headers.get('x-request-id');
        expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
        expect(body.errors?.[0]?.extensions?.requestId).toBe(requestId);
        expect(lines.some((line) => line.msg === 'unexpected error' && line.requestId === requestId)).toBe(true);
      });

      it('a body over the limit is refused with 413 and BAD_USER_INPUT naming the limit', async () => {
        const response = await post(JSON.stringify({ query: '{ health }', variables: { pad: 'p'.repeat(MAX_REQUEST_BYTES) } }));
        expect(response.status).toBe(413);
        const body = await response.json() as { errors: Array<{ message: string; extensions: { code: string } }> };
        expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
        expect(body.errors[0]!.message).toContain(String(MAX_REQUEST_BYTES));
      });

      it('a body that is not JSON is refused with 400', async () => {
        const response = await post('{"query": ');
        expect(response.status).toBe(400);
        const body = await response.json() as { errors: Array<{ extensions: { code: string } }> };
        expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      });
    });
  });

  describe('a broken read database', () => {
    it('is masked too, in a dedicated app whose read database was closed', async () => {
      const captured = capturingLogger();
      const broken = await startTestApp({ provider: false, logger: captured.logger });
      try {
        const victim = await newUser(broken.yoga);
        await broken.app.readDb.close();
        const result = await gql(broken.yoga, '{ conversations(first: 5) { edges { node { id } } } }', {}, victim.token);
        expectMasked(result.raw, result.errors?.[0]);
        expect(captured.lines.some((line) => line.msg === 'unexpected error')).toBe(true);
        // What needs no database still answers.
        expect(await ok(broken.yoga, '{ health }')).toEqual({ health: 'ok' });
      } finally {
        await broken.close();
      }
    });
  });
});
