// The web app's session cookie (src/graphql/web-session.ts) and the app's own routes
// (src/graphql/web-app.ts) on the real HTTP server, in process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { CONTENT_SECURITY_POLICY, webAppRouter } from '../../src/graphql/web-app.ts';
import { SESSION_COOKIE, sessionCookie } from '../../src/graphql/web-session.ts';
import { newUser, startTestApp, type TestApp } from './support.ts';

describe('web session cookie (int)', () => {
  let t: TestApp;
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({ provider: false });
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  const postSession = (body: string, type = 'application/json') => fetch(`${base}/session`, { method: 'POST', headers: { 'content-type': type }, body });
  const me = (headers: Record<string, string>) => fetch(`${base}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ me { email } }' }),
  }).then((r) => r.json() as Promise<{ data?: { me: { email: string } | null } }>);

  it('turns a live session token into an HttpOnly, SameSite=Strict cookie the API then accepts', async () => {
    const user = await newUser(t.yoga);
    const response = await postSession(JSON.stringify({ token: user.token }));
    expect(response.status).toBe(204);
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).toMatch(/Expires=/);
    const value = cookie.split(';')[0]!;
    expect((await me({ cookie: value })).data?.me?.email).toBe(user.email);
    // An Authorization header wins over the cookie.
    expect((await me({ cookie: value, authorization: 'Bearer evd_not-a-token' })).data?.me).toBeNull();
  });

  it('refuses what is not a live session token, with a code', async () => {
    const cases: Array<[string, string, number, string]> = [
      [JSON.stringify({ token: 'evd_unknown' }), 'application/json', 401, 'UNAUTHENTICATED'],
      [JSON.stringify({ token: 42 }), 'application/json', 400, 'BAD_USER_INPUT'],
      [JSON.stringify({ token: 'has space' }), 'application/json', 400, 'BAD_USER_INPUT'],
      [JSON.stringify({ token: 'x'.repeat(300) }), 'application/json', 400, 'BAD_USER_INPUT'],
      ['{not json', 'application/json', 400, 'BAD_REQUEST'],
      [`{"token":"${'y'.repeat(5000)}"}`, 'application/json', 400, 'BAD_REQUEST'],
      ['token=abc', 'application/x-www-form-urlencoded', 415, 'BAD_REQUEST'],
      ['abc', 'text/plain', 415, 'BAD_REQUEST'],
    ];
    for (const [body, type, status, code] of cases) {
      const response = await postSession(body, type);
      expect(response.status, body.slice(0, 40)).toBe(status);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(await response.json()).toMatchObject({ errors: [{ extensions: { code } }] });
    }
  });

  it('refuses an API key: the cookie is for sign-in sessions', async () => {
    const user = await newUser(t.yoga);
    const created = await fetch(`${base}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ query: 'mutation { createApiKey(name: "k", scopes: [read]) { key } }' }),
    }).then((r) => r.json() as Promise<{ data?: { createApiKey: { key: string } }; errors?: unknown }>);
    const key = created.data?.createApiKey.key;
    expect(key, JSON.stringify(created)).toMatch(/^evk_/);
    expect((await postSession(JSON.stringify({ token: key }))).status).toBe(401);
  });

  it('clears the cookie on DELETE', async () => {
    const response = await fetch(`${base}/session`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toMatch(new RegExp(`^${SESSION_COOKIE}=;.*Expires=Thu, 01 Jan 1970`));
  });

  it('reads only its own cookie, and only a well-formed value', () => {
    expect(sessionCookie(`a=1; ${SESSION_COOKIE}=evd_abc; b=2`)).toBe('evd_abc');
    expect(sessionCookie(`x${SESSION_COOKIE}=evd_abc`)).toBeNull();
    expect(sessionCookie(`${SESSION_COOKIE}=evd abc`)).toBeNull();
    expect(sessionCookie(undefined)).toBeNull();
  });
});

describe('web app routes (unit)', () => {
  const dist = mkdtempSync(join(tmpdir(), 'evident-web-dist-'));
  let base: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(dist, 'assets/index-abc.js'), 'console.log(1)');
    const web = express().use(webAppRouter(`${dist}/`));
    const listening = web.listen(0, '127.0.0.1');
    await new Promise((resolve) => listening.once('listening', resolve));
    base = `http://127.0.0.1:${(listening.address() as { port: number }).port}`;
    close = () => new Promise((resolve) => listening.close(() => resolve()));
  });
  afterAll(async () => {
    await close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('answers deep links with index.html under the Content-Security-Policy', async () => {
    const response = await fetch(`${base}/c/anything`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<title>app</title>');
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('serves hashed assets as immutable, and a missing asset as 404 (not index.html)', async () => {
    const asset = await fetch(`${base}/assets/index-abc.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${base}/nothing.json`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });
});
