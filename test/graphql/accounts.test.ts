import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestContext } from '../../src/graphql/request-context.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import {
  eventsJson, fails, gql, LOGIN, ME, newUser, ok, readWholeLog, REGISTER, startTestApp, uniqueEmail, type TestApp,
} from './support.ts';


const LOGOUT = 'mutation { logout }';

let addressCounter = 0;
const uniqueAddress = () => `192.0.2.${++addressCounter}`;
/** Runs a request as if it came from `clientAddress` (what express's req.ip gives over HTTP). */
const from = <T>(clientAddress: string, run: () => Promise<T>) => requestContext.run({ requestId: uuidv7(), clientAddress }, run);
const CHANGE_PASSWORD = `mutation Change($currentPassword: String!, $newPassword: String!) {
  changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { token expiresAt user { id } }
}`;

describe('GraphQL accounts (in process)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const register = (email: string, password: string, displayName: string) => gql(t.yoga, REGISTER, { email, password, displayName });
  const me = async (token: string | null) =>
    (await ok<{ me: { id: string; email: string | null; displayName: string; role: string } | null }>(t.yoga, ME, {}, token)).me;

  describe('register', () => {
    it('makes the first account admin and every later one a member', async () => {
      const first = await register(uniqueEmail('first'), 'first-password', 'First Person');
      expect(first.errors).toBeUndefined();
      expect(first.data).toMatchObject({ register: { role: 'admin', active: true, displayName: 'First Person' } });

      const second = await register(uniqueEmail('second'), 'second-password', 'Second Person');
      expect(second.errors).toBeUndefined();
      expect(second.data).toMatchObject({ register: { role: 'member', active: true } });

      const third = await newUser(t.yoga);
      expect(third.role).toBe('member');
    });

    it('refuses an email that is already registered, whatever its case, with CONFLICT', async () => {
      const email = uniqueEmail('dup');
      expect((await register(email, 'password-one', 'One')).errors).toBeUndefined();
      const again = await fails(t.yoga, REGISTER, { email, password: 'password-two', displayName: 'Two' });
      expect(again.code).toBe('CONFLICT');
      const upper = await fails(t.yoga, REGISTER, { email: email.toUpperCase(), password: 'password-two', displayName: 'Two' });
      expect(upper.code).toBe('CONFLICT');
      expect(again.result.data).toBeNull();
    });

    it('rejects bad input with BAD_USER_INPUT naming the limit', async () => {
      const badEmail = await fails(t.yoga, REGISTER, { email: 'not-an-email', password: 'long-enough', displayName: 'X' });
      expect(badEmail.code).toBe('BAD_USER_INPUT');
      expect(badEmail.message).toMatch(/email/i);

      const longEmail = await fails(t.yoga, REGISTER, { email: `${'a'.repeat(250)}@example.com`, password: 'long-enough', displayName: 'X' });
      expect(longEmail.code).toBe('BAD_USER_INPUT');
      expect(longEmail.message).toContain('254');

      const shortPassword = await fails(t.yoga, REGISTER, { email: uniqueEmail(), password: 'short', displayName: 'X' });
      expect(shortPassword.code).toBe('BAD_USER_INPUT');
      expect(shortPassword.message).toMatch(/password/i);
      expect(shortPassword.message).toContain('8');

      const longPassword = await fails(t.yoga, REGISTER, { email: uniqueEmail(), password: 'p'.repeat(257), displayName: 'X' });
      expect(longPassword.code).toBe('BAD_USER_INPUT');
      expect(longPassword.message).toContain('256');

      const longName = await fails(t.yoga, REGISTER, { email: uniqueEmail(), password: 'long-enough', displayName: 'n'.repeat(101) });
      expect(longName.code).toBe('BAD_USER_INPUT');
      expect(longName.message).toMatch(/displayName/);
      expect(longName.message).toContain('100');

      const blankName = await fails(t.yoga, REGISTER, { email: uniqueEmail(), password: 'long-enough', displayName: '   ' });
      expect(blankName.code).toBe('BAD_USER_INPUT');
    });

    it('accepts a display name of exactly 100 characters', async () => {
      const result = await register(uniqueEmail(), 'long-enough', 'n'.repeat(100));
      expect(result.errors).toBeUndefined();
      expect(result.data).toMatchObject({ register: { displayName: 'n'.repeat(100) } });
    });
  });

  describe('login and sessions', () => {
    it('logs in with the right password and returns a working token', async () => {
      const email = uniqueEmail('login');
      const registered = await ok<{ register: { id: string } }>(t.yoga, REGISTER, { email, password: 'correct-horse', displayName: 'Login' });
      const result = await ok<{ login: { token: string; expiresAt: string; user: { id: string; email: string } } }>(
        t.yoga, LOGIN, { email, password: 'correct-horse' });
      expect(result.login.token).toMatch(/\S{20,}/);
      expect(Date.parse(result.login.expiresAt)).toBeGreaterThan(Date.now());
      // (user.email is null here: the request itself carries no session, and email is shown only to its owner and admins.)
      expect(result.login.user).toMatchObject({ id: registered.register.id, role: 'member' });
      expect(await me(result.login.token)).toMatchObject({ id: registered.register.id, email, displayName: 'Login' });
    });

    it('gives the same UNAUTHENTICATED answer for a wrong password and for an unknown email', async () => {
      const user = await newUser(t.yoga);
      const wrongPassword = await fails(t.yoga, LOGIN, { email: user.email, password: 'not-the-password' });
      const unknownEmail = await fails(t.yoga, LOGIN, { email: uniqueEmail('nobody'), password: 'not-the-password' });
      expect(wrongPassword.code).toBe('UNAUTHENTICATED');
      expect(unknownEmail.code).toBe('UNAUTHENTICATED');
      expect(wrongPassword.message).toBe(unknownEmail.message);
      expect(wrongPassword.extensions).toEqual(unknownEmail.extensions);
      expect(wrongPassword.result.data).toBeNull();
    });

    it('answers me with the user for a valid token, and null without one or with a garbage one', async () => {
      const user = await newUser(t.yoga, { displayName: 'Me Myself' });
      expect(await me(user.token)).toEqual({ id: user.userId, email: user.email, displayName: 'Me Myself', role: 'member' });
      expect(await me(null)).toBeNull();
      expect(await me('garbage-token')).toBeNull();
      expect(await me(`${user.token}x`)).toBeNull();
      const malformed = await t.yoga.fetch('http://localhost/graphql', {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${user.token}` }, body: JSON.stringify({ query: ME }),
      });
      expect(await malformed.json()).toEqual({ data: { me: null } });
    });

    it('logout ends the session: the token stops working', async () => {
      const user = await newUser(t.yoga);
      const other = await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: user.email, password: user.password });
      expect(await ok(t.yoga, LOGOUT, {}, user.token)).toEqual({ logout: true });
      expect(await me(user.token)).toBeNull();
      const again = await fails(t.yoga, LOGOUT, {}, user.token);
      expect(again.code).toBe('UNAUTHENTICATED');
      // Only that session ended.
      expect(await me(other.login.token)).toMatchObject({ id: user.userId });
    });

    it('changePassword refuses a wrong current password, and on success returns a new token and ends the old sessions', async () => {
      const user = await newUser(t.yoga);
      const secondSession = (await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: user.email, password: user.password })).login.token;

      const wrong = await fails(t.yoga, CHANGE_PASSWORD, { currentPassword: 'not-my-password', newPassword: 'brand-new-password' }, user.token);
      expect(wrong.code).toBe('UNAUTHENTICATED');
      expect(await me(user.token)).toMatchObject({ id: user.userId });

      const tooShort = await fails(t.yoga, CHANGE_PASSWORD, { currentPassword: user.password, newPassword: 'short' }, user.token);
      expect(tooShort.code).toBe('BAD_USER_INPUT');
      expect(tooShort.message).toContain('8');

      const changed = await ok<{ changePassword: { token: string; user: { id: string } } }>(
        t.yoga, CHANGE_PASSWORD, { currentPassword: user.password, newPassword: 'brand-new-password' }, user.token);
      expect(changed.changePassword.user.id).toBe(user.userId);
      expect(changed.changePassword.token).not.toBe(user.token);
      expect(await me(changed.changePassword.token)).toMatchObject({ id: user.userId });
      expect(await me(user.token)).toBeNull();
      expect(await me(secondSession)).toBeNull();

      expect((await fails(t.yoga, LOGIN, { email: user.email, password: user.password })).code).toBe('UNAUTHENTICATED');
      const relogin = await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: user.email, password: 'brand-new-password' });
      expect(await me(relogin.login.token)).toMatchObject({ id: user.userId });
    });

    it('changePassword needs a session', async () => {
      const result = await fails(t.yoga, CHANGE_PASSWORD, { currentPassword: 'whatever-it-is', newPassword: 'brand-new-password' });
      expect(result.code).toBe('UNAUTHENTICATED');
    });

    it('throttles guessing from one address: the limit of failures accepted, the next attempt RATE_LIMITED even with the right password', async () => {
      const user = await newUser(t.yoga);
      const address = uniqueAddress();
      const limit = t.app.config.loginThrottle.perAccountAndAddress;
      expect(limit).toBe(5);
      for (let i = 0; i < limit; i++) {
        const failed = await from(address, () => fails(t.yoga, LOGIN, { email: user.email, password: `wrong-password-${i}` }));
        expect(failed.code, `attempt ${i + 1}`).toBe('UNAUTHENTICATED');
      }
      const locked = await from(address, () => fails(t.yoga, LOGIN, { email: user.email, password: user.password }));
      expect(locked.code).toBe('RATE_LIMITED');
      expect(locked.extensions?.retryAfterSeconds).toEqual(expect.any(Number));
      expect(locked.extensions!.retryAfterSeconds as number).toBeGreaterThan(0);
      expect(locked.extensions!.retryAfterSeconds as number).toBeLessThanOrEqual(15 * 60);
      expect(locked.message).toContain(String(locked.extensions!.retryAfterSeconds));
      // Same for a differently-cased address, and the existing session is not affected.
      expect((await from(address, () => fails(t.yoga, LOGIN, { email: user.email.toUpperCase(), password: user.password }))).code).toBe('RATE_LIMITED');
      expect(await me(user.token)).toMatchObject({ id: user.userId });
      // The owner, from another address, is not locked out; nor is another account from the guesser's.
      expect((await from(uniqueAddress(), () => ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: user.email, password: user.password }))).login.token)
        .toEqual(expect.any(String));
      const other = await newUser(t.yoga);
      expect((await from(address, () => gql(t.yoga, LOGIN, { email: other.email, password: other.password }))).errors).toBeUndefined();
    });

    it('a successful login clears the count of its address', async () => {
      const user = await newUser(t.yoga);
      const address = uniqueAddress();
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 4; i++) await from(address, () => fails(t.yoga, LOGIN, { email: user.email, password: 'wrong-password' }));
        expect((await from(address, () => gql(t.yoga, LOGIN, { email: user.email, password: user.password }))).errors, `round ${round}`).toBeUndefined();
      }
    });

    it('throttles unknown addresses too', async () => {
      const email = uniqueEmail('ghost');
      const address = uniqueAddress();
      for (let i = 0; i < 5; i++) await from(address, () => fails(t.yoga, LOGIN, { email, password: 'whatever-password' }));
      const locked = await from(address, () => fails(t.yoga, LOGIN, { email, password: 'whatever-password' }));
      expect(locked.code).toBe('RATE_LIMITED');
      expect(locked.extensions?.retryAfterSeconds).toEqual(expect.any(Number));
    });
  });

  describe('the log', () => {
    it('records login failures, successes and sessions without the email, the password or the token', async () => {
      const password = `secret-pw-${Date.now()}`;
      const user = await newUser(t.yoga, { password });
      await fails(t.yoga, LOGIN, { email: user.email, password: `${password}-wrong` });
      const unknown = uniqueEmail('unknown');
      await fails(t.yoga, LOGIN, { email: unknown, password });

      const events = await readWholeLog(t.app.store);
      const failed = events.filter((e) => e.type === 'LoginFailed');
      const mine = failed.filter((e) => (e.data as { userId: string | null }).userId === user.userId);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(mine.at(-1)!.data).toMatchObject({ userId: user.userId, reason: 'bad_password' });
      const unknownFailure = failed.find((e) => (e.data as { reason: string }).reason === 'unknown_email');
      expect(unknownFailure?.data).toMatchObject({ userId: null, reason: 'unknown_email' });
      for (const event of failed) {
        expect(Object.keys(event.data as object).sort()).toEqual(['at', 'reason', 'userId']);
        expect(event.stream).not.toContain('@');
      }

      const succeeded = events.filter((e) => e.type === 'LoginSucceeded' && (e.data as { userId: string }).userId === user.userId);
      expect(succeeded).toHaveLength(1);
      const sessionId = (succeeded[0]!.data as { sessionId: string }).sessionId;
      const started = events.find((e) => e.type === 'SessionStarted' && (e.data as { sessionId: string }).sessionId === sessionId);
      expect(started?.data).toMatchObject({ userId: user.userId, tokenHash: expect.stringMatching(/^[0-9a-f]{64}$/) });

      const json = eventsJson(events);
      expect(json).not.toContain(password);
      expect(json).not.toContain(user.token);
      // The addresses only appear where they belong: in the (encrypted) registration of the user.
      const mentioningEmail = events.filter((e) => eventsJson([e]).includes(user.email)).map((e) => e.type);
      expect(new Set(mentioningEmail)).toEqual(new Set(['UserRegistered']));
      expect(json).not.toContain(unknown);
    });

    it('keeps emails and names encrypted in the raw log', async () => {
      const user = await newUser(t.yoga, { displayName: 'Very Distinctive Name' });
      const raw = new SqliteEventStore(join(t.dataDir, 'events.sqlite'));
      try {
        const json = eventsJson(await readWholeLog(raw));
        expect(json).toContain(user.userId);
        expect(json).not.toContain(user.email);
        expect(json).not.toContain('Very Distinctive Name');
        expect(json).not.toContain(user.password);
      } finally {
        await raw.close();
      }
    });
  });
});
