// Production hardening of the GraphQL endpoint: introspection, suggestions, document limits, CORS,
// CSRF, the client address behind proxies, and the same limits over graphql-ws.
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { CSRF_HEADER, LIMIT_CODE } from '../../src/graphql/security.ts';
import { ENDPOINT, fails, gql, LOGIN, newUser, ok, startTestApp, WAIT_MS, within, type TestApp } from './support.ts';

const LIMITS = { GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_ALIASES: '3', GRAPHQL_MAX_TOKENS: '60', GRAPHQL_MAX_COST: '300' };

/** `{ health __typename … }` with exactly `tokens` lexical tokens. */
const withTokens = (tokens: number) => `{ health${' __typename'.repeat(tokens - 3)} }`;
/** A selection `depth` levels deep: conversations › edges › node › owner › id is 5. */
const DEPTH_4 = '{ conversations(first: 1) { edges { node { id } } } }';
const DEPTH_5 = '{ conversations(first: 1) { edges { node { owner { id } } } } }';
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: health`).join(' ')} }`;

interface WsResult { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }

/** One operation over graphql-ws; `headers` go on the upgrade request. */
async function overWs(url: string, query: string, options: { headers?: Record<string, string>; variables?: Record<string, unknown> } = {}): Promise<WsResult> {
  const headers = options.headers ?? {};
  class HeaderSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: HeaderSocket, retryAttempts: 0, lazy: true });
  try {
    return await within(new Promise<WsResult>((resolve, reject) => {
      let result: WsResult | undefined;
      client.subscribe({ query, variables: options.variables ?? {} }, {
        next: (value) => { result = value as WsResult; },
        error: (error) => (Array.isArray(error) ? resolve({ errors: error as WsResult['errors'] }) : reject(error as Error)),
        complete: () => resolve(result ?? {}),
      });
    }), 'graphql-ws operation', WAIT_MS);
  } finally {
    await client.dispose();
  }
}

describe('GraphQL in production (NODE_ENV=production)', () => {
  let t: TestApp;
  let server: RunningServer;

  beforeAll(async () => {
    t = await startTestApp({ provider: false, env: { NODE_ENV: 'production', ...LIMITS } });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('refuses introspection', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "User") { name fields { name } } }']) {
      const error = await fails(t.yoga, query);
      expect(error.code).toBe(LIMIT_CODE);
      expect(error.message).toMatch(/introspection has been disabled/);
    }
    // __typename is not introspection of the schema.
    expect(await ok(t.yoga, '{ __typename }')).toEqual({ __typename: 'Query' });
  });

  it('gives no "Did you mean" hints, in validation or in variables', async () => {
    const field = await gql(t.yoga, '{ mee { id } }');
    expect(field.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(field.errors?.[0]?.message).toContain('Cannot query field "mee"');
    const input = await gql(t.yoga, 'mutation($input: StartConversationInput) { startConversation(input: $input) { id } }', { input: { titel: 'x' } });
    expect(input.errors?.[0]?.message).toContain('"titel"');
    for (const result of [field, input]) expect(result.raw).not.toMatch(/did you mean|"me"|"title"/i);
  });

  it('refuses a document over the depth limit, accepts one at it', async () => {
    expect((await gql(t.yoga, DEPTH_4)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED'); // validated, then asked to log in
    const error = await fails(t.yoga, DEPTH_5);
    expect(error.code).toBe(LIMIT_CODE);
    expect(error.message).toBe('Query depth limit of 4 exceeded, found 5.');
  });

  it('refuses more aliases than allowed, accepts the limit', async () => {
    expect(await ok(t.yoga, aliases(3))).toEqual({ a0: 'ok', a1: 'ok', a2: 'ok' });
    const error = await fails(t.yoga, aliases(4));
    expect(error.code).toBe(LIMIT_CODE);
    expect(error.message).toBe('Aliases limit of 3 exceeded, found 4.');
  });

  it('refuses a document of more tokens than allowed (not "Validation aborted."), accepts the limit', async () => {
    expect(await ok(t.yoga, withTokens(60))).toMatchObject({ health: 'ok' });
    const error = await fails(t.yoga, withTokens(61));
    expect(error.code).toBe(LIMIT_CODE);
    expect(error.message).toBe('Token limit of 60 exceeded.');
    const huge = await fails(t.yoga, withTokens(100_000));
    expect(huge.message).toBe('Token limit of 60 exceeded.');
  });

  it('refuses a document that costs too much', async () => {
    const error = await fails(t.yoga, '{ conversations(first: 100) { edges { node { id title } } } }');
    expect(error.code).toBe(LIMIT_CODE);
    expect(error.message).toMatch(/^Query Cost limit of 300 exceeded, found \d+/);
  });

  it('applies the same limits and rules over graphql-ws', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{ __schema { types { name } } }', /introspection has been disabled/],
      [DEPTH_5, /^Query depth limit of 4 exceeded/],
      [aliases(4), /^Aliases limit of 3 exceeded/],
      [withTokens(61), /^Token limit of 60 exceeded/],
      ['{ conversations(first: 100) { edges { node { id title } } } }', /^Query Cost limit of 300 exceeded/],
    ];
    for (const [query, message] of cases) {
      const result = await overWs(server.url, query);
      expect(result.errors?.[0]?.message, query.slice(0, 40)).toMatch(message);
    }
    const suggestion = await overWs(server.url, '{ mee { id } }');
    expect(JSON.stringify(suggestion)).not.toMatch(/did you mean/i);
    expect(await overWs(server.url, '{ health }')).toEqual({ data: { health: 'ok' } });
  });

  it('serves no GraphiQL in production', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type') ?? '').not.toContain('text/html');
    await response.body?.cancel();
  });

  describe('CORS', () => {
    const preflight = (origin: string) => fetch(server.url, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    const post = (origin: string) => fetch(server.url, {
      method: 'POST', headers: { origin, 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query: '{ health }' }),
    });

    it('by default allows no other origin, and never credentials', async () => {
      for (const response of [await preflight('https://evil.example'), await post('https://evil.example')]) {
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        await response.body?.cancel();
      }
    });

    it('allows exactly the configured origins', async () => {
      const configured = await startServer({ ...t.app, config: { ...t.app.config, corsOrigins: ['https://app.example'] } }, { port: 0, host: '127.0.0.1' });
      try {
        const allowed = await fetch(configured.url, {
          method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
        });
        expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
        expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
        const other = await fetch(configured.url, {
          method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
        });
        expect(other.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await configured.close();
      }
    });
  });

  describe('CSRF', () => {
    const body = (contentType: string, payload: string, headers: Record<string, string> = {}) => fetch(server.url, {
      method: 'POST', headers: { 'content-type': contentType, accept: 'application/json', ...headers }, body: payload,
    });
    const mutation = `mutation { register(email: "csrf@example.com", password: "csrf-password", displayName: "CSRF") { id } }`;

    it('refuses a form, multipart or text/plain POST without the CSRF header, and runs nothing', async () => {
      const form = await body('application/x-www-form-urlencoded', new URLSearchParams({ query: mutation }).toString());
      const text = await body('text/plain', JSON.stringify({ query: mutation }));
      const multipart = await body('multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: mutation })}\r\n--x--\r\n`);
      for (const response of [form, text, multipart]) {
        expect(response.status).toBe(403);
        const json = await response.json() as { errors: Array<{ message: string; extensions: { code: string } }> };
        expect(json.errors[0]!.extensions.code).toBe('BAD_REQUEST');
        expect(json.errors[0]!.message).toContain(CSRF_HEADER);
      }
      const login = await gql(t.yoga, LOGIN, { email: 'csrf@example.com', password: 'csrf-password' });
      expect(login.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED'); // never registered
    });

    it('lets JSON and GET queries through', async () => {
      const json = await body('application/json', JSON.stringify({ query: '{ health }' }));
      expect(await json.json()).toEqual({ data: { health: 'ok' } });
      const get = await fetch(`${server.url}?query=${encodeURIComponent('{ health }')}`, { headers: { accept: 'application/json' } });
      expect(await get.json()).toEqual({ data: { health: 'ok' } });
    });

    it('in process too (yoga.fetch)', async () => {
      const response = await t.yoga.fetch(ENDPOINT, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ health }' }) });
      expect(response.status).toBe(403);
      await response.body?.cancel();
    });
  });

  describe('client address (TRUST_PROXY) for the login throttle', () => {
    const loginOver = (url: string, forwardedFor: string, email: string, password: string) => fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ query: LOGIN, variables: { email, password } }),
    }).then(async (response) => (await response.json()) as { errors?: Array<{ extensions: { code: string } }> });
    const code = (result: { errors?: Array<{ extensions: { code: string } }> }) => result.errors?.[0]?.extensions.code ?? 'OK';

    it('believes X-Forwarded-For only from a trusted proxy, over HTTP and over graphql-ws', async () => {
      const user = await newUser(t.yoga);
      const limit = t.app.config.loginThrottle.perAccountAndAddress;
      // Not trusted (the default): every forwarded address is the socket's, 127.0.0.1.
      for (let i = 0; i < limit; i++) expect(code(await loginOver(server.url, `198.51.100.${i + 1}`, user.email, 'wrong-password'))).toBe('UNAUTHENTICATED');
      expect(code(await loginOver(server.url, '198.51.100.99', user.email, user.password))).toBe('RATE_LIMITED');

      const behindProxy = await startServer({ ...t.app, config: { ...t.app.config, trustProxy: ['loopback'] } }, { port: 0, host: '127.0.0.1' });
      try {
        for (let i = 0; i < limit; i++) expect(code(await loginOver(behindProxy.url, '203.0.113.7', user.email, 'wrong-password'))).toBe('UNAUTHENTICATED');
        expect(code(await loginOver(behindProxy.url, '203.0.113.7', user.email, user.password))).toBe('RATE_LIMITED');
        const viaWs = (forwardedFor: string) => overWs(behindProxy.url, LOGIN, {
          headers: { 'x-forwarded-for': forwardedFor }, variables: { email: user.email, password: user.password },
        });
        expect((await viaWs('203.0.113.7')).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
        // The owner, elsewhere, is not locked out.
        expect(code(await loginOver(behindProxy.url, '203.0.113.8', user.email, user.password))).toBe('OK');
        expect((await viaWs('203.0.113.9')).data).toMatchObject({ login: { token: expect.any(String) } });
      } finally {
        await behindProxy.close();
      }
    });
  });
});

describe('GraphiQL in development', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ provider: false, env: { NODE_ENV: 'development' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is served with its assets inlined: nothing from a CDN', async () => {
    const response = await t.yoga.fetch(ENDPOINT, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('renderYogaGraphiQL');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="https?:|unpkg\.com|jsdelivr|cdn\./i);
  });

  it('answers introspection and keeps suggestions in development', async () => {
    expect(await ok(t.yoga, '{ __schema { queryType { name } } }')).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await gql(t.yoga, '{ mee { id } }')).errors?.[0]?.message).toContain('Did you mean "me"?');
  });
});
