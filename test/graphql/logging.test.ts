// What the server logs about failed operations: the operation's name, the code and the request id;
// never the document, the variables or a password. Client errors at debug, server errors at error.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { gql, newUser, startTestApp, type TestApp, type TestUser } from './support.ts';

const PINO_ERROR = 50;
const PINO_WARN = 40;

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = pino({ level: 'trace' }, {
    write: (line: string) => {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, lines, raw };
}

describe.each(['production', 'test'] as const)('logs of failed operations (NODE_ENV=%s)', (env) => {
  let t: TestApp;
  let user: TestUser;
  let server: RunningServer;
  let captured: ReturnType<typeof capturingLogger>;

  beforeAll(async () => {
    captured = capturingLogger();
    t = await startTestApp({ logger: captured.logger, env: { NODE_ENV: env } });
    user = await newUser(t.yoga);
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  /** The log written while `run` ran, as text, and its parsed lines. */
  async function logOf(run: () => Promise<unknown>) {
    const from = captured.raw.length;
    await run();
    return { text: captured.raw.slice(from).join(''), lines: captured.lines.slice(from) };
  }

  it('an inline login with a wrong password: no password, no email, no document; a debug line with name, code and request id', async () => {
    const secret = `inline-secret-${env}-1`;
    const query = `mutation SignIn { login(email: "${user.email}", password: "${secret}") { token } }`;
    const { text, lines } = await logOf(async () => {
      const result = await gql(t.yoga, query);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
    expect(text).not.toContain(secret);
    expect(text).not.toContain(user.email);
    expect(text).not.toContain('login(');
    expect(lines.filter((line) => (line.level as number) >= PINO_WARN)).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({
      level: 20, msg: 'client error', operationName: 'SignIn', code: 'UNAUTHENTICATED', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    }));
  });

  it('an inline changePassword with a wrong current password, over HTTP too: no password', async () => {
    const current = `inline-current-${env}`;
    const next = `inline-next-${env}-password`;
    const query = `mutation { changePassword(currentPassword: "${current}", newPassword: "${next}") { token } }`;
    const { text, lines } = await logOf(async () => {
      expect((await gql(t.yoga, query, {}, user.token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const response = await fetch(server.url, {
        method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ query }),
      });
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    });
    for (const secret of [current, next]) expect(text).not.toContain(secret);
    expect(lines.filter((line) => (line.level as number) >= PINO_WARN)).toEqual([]);
  });

  it('a password in a variable of the wrong type, or a short new password, is not logged either', async () => {
    const { text, lines } = await logOf(async () => {
      const wrongType = await gql(t.yoga, 'mutation($p: String!) { login(email: "a@example.com", password: $p) { token } }', { p: 987654321987 });
      expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const short = await gql(t.yoga, 'mutation { changePassword(currentPassword: "whatever-it-is", newPassword: "shortpw") { token } }', {}, user.token);
      expect(short.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      const syntax = await gql(t.yoga, 'mutation { login(email: "a@example.com", password: "syntax-secret-pw" { token } }');
      expect(syntax.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    });
    for (const secret of ['987654321987', 'shortpw', 'whatever-it-is', 'syntax-secret-pw']) expect(text).not.toContain(secret);
    expect(lines.filter((line) => (line.level as number) >= PINO_WARN)).toEqual([]);
  });

  it('an unexpected error is logged at error with its name, code, request id and the error, but not the document', async () => {
    const original = t.app.providers.listModels;
    t.app.providers.listModels = async () => { throw new Error('provider exploded'); };
    try {
      const { text, lines } = await logOf(async () => {
        const result = await gql(t.yoga, 'query ListModels($flag: Boolean!) { models { id } health @include(if: $flag) }',
          { flag: true, extra: 'variable-secret-value' }, user.token);
        expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      });
      const errors = lines.filter((line) => (line.level as number) >= PINO_ERROR);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        msg: 'unexpected error', operationName: 'ListModels', code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String),
        err: expect.objectContaining({ message: 'provider exploded' }),
      });
      expect(text).not.toContain('variable-secret-value');
      expect(text).not.toContain('models { id }');
    } finally {
      t.app.providers.listModels = original;
    }
  });
});
