import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, ME, newUser, startTestApp, type TestApp } from './support.ts';

// Sessions last SESSION_TTL_HOURS; here 3.6 seconds, to see one expire.
const TTL_HOURS = '0.001';

describe('session expiry', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ provider: false, env: { SESSION_TTL_HOURS: TTL_HOURS } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a token stops working once its session has expired', async () => {
    const user = await newUser(t.yoga);
    expect((await gql<{ me: { id: string } | null }>(t.yoga, ME, {}, user.token)).data?.me?.id).toBe(user.userId);
    const ttlMs = Number(TTL_HOURS) * 3_600_000;
    await new Promise((resolve) => setTimeout(resolve, ttlMs + 300));
    expect((await gql<{ me: { id: string } | null }>(t.yoga, ME, {}, user.token)).data?.me).toBeNull();
    const protectedField = await gql(t.yoga, '{ conversations(first: 1) { edges { node { id } } } }', {}, user.token);
    expect(protectedField.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
