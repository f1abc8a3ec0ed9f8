import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, LOGIN, ME, newUser, ok, startTestApp, type TestApp } from './support.ts';

// Sessions last SESSION_TTL_HOURS; here 3.6 seconds, to see one expire.
const TTL_HOURS = '0.001';
const TTL_MS = Number(TTL_HOURS) * 3_600_000;

describe('session expiry', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ provider: false, env: { SESSION_TTL_HOURS: TTL_HOURS } });
  });
  afterAll(async () => {
    await t?.close();
  });

  // Every check is judged by the clock readings around it, never by how long anything took: a
  // loaded machine can only make the loop run fewer times.
  it('a token works until its expiresAt and not from then on', async () => {
    const user = await newUser(t.yoga);
    const before = Date.now();
    const { login } = await ok<{ login: { token: string; expiresAt: string } }>(t.yoga, LOGIN, { email: user.email, password: user.password });
    const after = Date.now();
    const expiresAt = Date.parse(login.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + TTL_MS);

    for (;;) {
      const asked = Date.now();
      const me = (await gql<{ me: { id: string } | null }>(t.yoga, ME, {}, login.token)).data?.me;
      const answered = Date.now();
      if (me) {
        expect(me.id).toBe(user.userId);
        expect(asked, 'the token worked after it expired').toBeLessThan(expiresAt);
      } else {
        expect(me).toBeNull();
        expect(answered, 'the token stopped working before it expired').toBeGreaterThanOrEqual(expiresAt);
        break;
      }
      if (answered > expiresAt + 30_000) throw new Error('the token still works 30 s after its expiresAt');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const protectedField = await gql(t.yoga, '{ conversations(first: 1) { edges { node { id } } } }', {}, login.token);
    expect(protectedField.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
