import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNUP_POLICY_STREAM } from '../../src/domain/account/signup-policy.ts';
import { encodeFeedCursor } from '../../src/graphql/conversation-feed.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { hashToken } from '../../src/infra/passwords.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
import {
  ENDPOINT, eventsJson, fails, gql, LOGIN, ME, MESSAGE_FIELDS, newUser, ok, openSse, readWholeLog, REGISTER, SEND, startConversation,
  startTestApp, uniqueEmail, WAIT_MS, type SseStream, type TestApp, type TestUser,
} from './support.ts';

const USERS = `query Users($search: String, $role: UserRole, $status: UserStatus, $first: Int, $after: String) {
  users(search: $search, role: $role, status: $status, first: $first, after: $after) {
    edges { cursor node { id email displayName role active } } pageInfo { hasNextPage endCursor }
  }
}`;
const CHANGE_ROLE = 'mutation($id: ID!, $role: UserRole!) { changeUserRole(id: $id, role: $role) { id role } }';
const DEACTIVATE = 'mutation($id: ID!) { deactivateUser(id: $id) { id active } }';
const REACTIVATE = 'mutation($id: ID!) { reactivateUser(id: $id) { id active } }';
const ERASE = 'mutation($id: ID!) { eraseUser(id: $id) }';
const ISSUE_RESET = 'mutation($id: ID!) { issuePasswordReset(userId: $id) { token expiresAt user { id } } }';
const RESET = 'mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }';
const SESSION_FIELDS = 'id current active startedAt expiresAt endedAt endedReason clientAddress userAgent user { id }';
const MY_SESSIONS = `query($activeOnly: Boolean) { mySessions(activeOnly: $activeOnly) { ${SESSION_FIELDS} } }`;
const USER_SESSIONS = `query($id: ID!, $activeOnly: Boolean) { userSessions(userId: $id, activeOnly: $activeOnly) { ${SESSION_FIELDS} } }`;
const REVOKE = 'mutation($id: ID!) { revokeSession(id: $id) }';
const REVOKE_USER_SESSION = 'mutation($userId: ID!, $sessionId: ID!) { revokeUserSession(userId: $userId, sessionId: $sessionId) }';
const POLICY = '{ signupPolicy { mode updatedAt } }';
const SET_POLICY = 'mutation($mode: SignupMode!) { setSignupPolicy(mode: $mode) { mode updatedAt } }';
const CREATE_INVITE = `mutation($expiresAt: DateTime, $maxUses: Int) {
  createInvite(expiresAt: $expiresAt, maxUses: $maxUses) { code invite { id createdBy expiresAt maxUses uses revokedAt usable } }
}`;
const REVOKE_INVITE = 'mutation($id: ID!) { revokeInvite(id: $id) { id usable revokedAt } }';
const INVITES = 'query($usableOnly: Boolean) { invites(first: 100, usableOnly: $usableOnly) { edges { node { id uses maxUses usable } } } }';
const REGISTER_WITH_INVITE = `mutation($email: String!, $password: String!, $displayName: String!, $inviteCode: String) {
  register(email: $email, password: $password, displayName: $displayName, inviteCode: $inviteCode) { id role }
}`;
const RESUMABLE_EVENTS = `subscription Events($conversationId: ID!, $after: String) {
  conversationEvents(conversationId: $conversationId, after: $after) { kind message { ${MESSAGE_FIELDS} } }
}`;
const NOBODY = '01900000-0000-7000-8000-000000000000';

interface UserNode { id: string; email: string | null; displayName: string | null; role: string; active: boolean }
interface SessionNode {
  id: string; current: boolean; active: boolean; endedAt: string | null; endedReason: string | null;
  clientAddress: string | null; userAgent: string | null; user: { id: string };
}

/** Logs in with a User-Agent header, as a browser would. */
async function loginAs(t: TestApp, user: TestUser, userAgent: string): Promise<string> {
  const response = await t.yoga.fetch(ENDPOINT, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'user-agent': userAgent },
    body: JSON.stringify({ query: LOGIN, variables: { email: user.email, password: user.password } }),
  });
  const body = await response.json() as { data: { login: { token: string } } };
  return body.data.login.token;
}

async function waitForEnd(stream: SseStream): Promise<string | null> {
  for (;;) {
    const frame = await stream.nextFrame(WAIT_MS * 2);
    if (!frame || frame.event === 'complete') return 'ENDED';
    const payload = JSON.parse(frame.data) as { errors?: Array<{ extensions?: { code?: string } }> };
    if (payload.errors) return payload.errors[0]?.extensions?.code ?? null;
  }
}

/** A live conversation subscription of `token` (proven live by a message it delivered). */
async function subscribed(t: TestApp, token: string): Promise<SseStream> {
  const conversation = await startConversation(t.yoga, token, { title: 'watched' });
  const stream = await openSse(t.yoga, RESUMABLE_EVENTS,
    { conversationId: conversation.id, after: encodeFeedCursor({ position: 0n, replyId: null, offset: 0 }) }, token);
  expect(stream.status).toBe(200);
  await ok(t.yoga, SEND, { conversationId: conversation.id, content: 'hello' }, token);
  for (;;) {
    const frame = await stream.nextFrame(WAIT_MS * 2);
    if (!frame) throw new Error('subscription ended before it went live');
    if ((JSON.parse(frame.data) as { data?: { conversationEvents?: { kind: string } } }).data?.conversationEvents?.kind === 'MESSAGE_ADDED') return stream;
  }
}

const ADAPTERS: Array<{ name: string; skip: string | undefined; database: boolean }> = [
  { name: 'embedded (SQLite log, PGlite read models)', skip: undefined, database: false },
  { name: 'PostgreSQL', skip: postgresSkipReason('accounts and admin on PostgreSQL'), database: true },
];

describe.each(ADAPTERS)('accounts and admin API on $name', (adapter) => {
  describe.skipIf(adapter.skip !== undefined)(adapter.name, () => {
    let t: TestApp;
    let database: TestDatabase | undefined;
    let admin: TestUser;
    let member: TestUser;

    beforeAll(async () => {
      database = adapter.database ? await createTestDatabase() : undefined;
      t = await startTestApp(database ? { env: { DATABASE_URL: database.url, MASTER_KEY: randomBytes(32).toString('base64') } } : {});
      admin = await newUser(t.yoga, { displayName: 'Ada Admin' });
      member = await newUser(t.yoga, { displayName: 'Mona Member' });
      expect([admin.role, member.role]).toEqual(['admin', 'member']);
    });
    afterAll(async () => {
      await t?.close();
      await database?.drop();
    });

    it('non-admins get FORBIDDEN for every admin operation; anonymous callers UNAUTHENTICATED', async () => {
      const calls: Array<[string, Record<string, unknown>]> = [
        [USERS, {}], [CHANGE_ROLE, { id: member.userId, role: 'admin' }], [REACTIVATE, { id: member.userId }],
        [ISSUE_RESET, { id: admin.userId }], [USER_SESSIONS, { id: admin.userId }],
        [REVOKE_USER_SESSION, { userId: admin.userId, sessionId: NOBODY }], [SET_POLICY, { mode: 'open' }], [CREATE_INVITE, {}],
        [REVOKE_INVITE, { id: NOBODY }], [INVITES, {}],
      ];
      for (const [query, variables] of calls) {
        expect((await fails(t.yoga, query, variables, member.token)).code, query).toBe('FORBIDDEN');
        expect((await fails(t.yoga, query, variables)).code, query).toBe('UNAUTHENTICATED');
      }
      expect((await fails(t.yoga, MY_SESSIONS, {})).code).toBe('UNAUTHENTICATED');
      expect((await fails(t.yoga, REVOKE, { id: NOBODY })).code).toBe('UNAUTHENTICATED');
      // The member is still a member, and nothing was changed.
      expect((await ok<{ me: { role: string } }>(t.yoga, ME, {}, member.token)).me.role).toBe('member');
    });

    describe('users query', () => {
      it('searches by part of the email or display name, case-insensitively, and filters by role and status', async () => {
        const tag = uuidv7().slice(-8);
        const alice = await newUser(t.yoga, { email: `alice.${tag}@example.com`, displayName: `Alice Zephyr ${tag}` });
        const bob = await newUser(t.yoga, { email: `bob.${tag}@example.org`, displayName: `Bob 100%_${tag}` });
        const search = async (variables: Record<string, unknown>) =>
          (await ok<{ users: { edges: Array<{ node: UserNode }> } }>(t.yoga, USERS, { first: 100, ...variables }, admin.token)).users.edges.map((e) => e.node);

        expect((await search({ search: `ALICE.${tag}` })).map((u) => u.id)).toEqual([alice.userId]);
        expect((await search({ search: `zephyr ${tag}` }))).toEqual([
          { id: alice.userId, email: alice.email, displayName: `Alice Zephyr ${tag}`, role: 'member', active: true },
        ]);
        expect((await search({ search: tag })).map((u) => u.id)).toEqual([alice.userId, bob.userId]);
        // LIKE wildcards match literally.
        expect((await search({ search: `100%_${tag}` })).map((u) => u.id)).toEqual([bob.userId]);
        expect(await search({ search: `1%0_${tag}` })).toEqual([]);
        expect((await search({ role: 'admin' })).map((u) => u.id)).toContain(admin.userId);
        expect((await search({ role: 'admin' })).map((u) => u.id)).not.toContain(alice.userId);
        expect((await search({ search: tag, role: 'member' })).map((u) => u.id)).toEqual([alice.userId, bob.userId]);

        await ok(t.yoga, DEACTIVATE, { id: bob.userId }, admin.token);
        expect((await search({ search: tag, status: 'deactivated' })).map((u) => u.id)).toEqual([bob.userId]);
        expect((await search({ search: tag, status: 'active' })).map((u) => u.id)).toEqual([alice.userId]);
      });

      it('pages with Relay cursors and refuses page sizes beyond the limit', async () => {
        const tag = uuidv7().slice(-8);
        const people = [];
        for (let n = 0; n < 3; n++) people.push(await newUser(t.yoga, { displayName: `Pager ${tag} ${n}` }));
        type Page = { users: { edges: Array<{ node: UserNode }>; pageInfo: { hasNextPage: boolean; endCursor: string } } };
        const first = await ok<Page>(t.yoga, USERS, { search: `pager ${tag}`, first: 2 }, admin.token);
        expect(first.users.edges.map((e) => e.node.id)).toEqual(people.slice(0, 2).map((p) => p.userId));
        expect(first.users.pageInfo.hasNextPage).toBe(true);
        const second = await ok<Page>(t.yoga, USERS, { search: `pager ${tag}`, first: 2, after: first.users.pageInfo.endCursor }, admin.token);
        expect(second.users.edges.map((e) => e.node.id)).toEqual([people[2]!.userId]);
        expect(second.users.pageInfo.hasNextPage).toBe(false);
        expect((await fails(t.yoga, USERS, { first: 101 }, admin.token)).code).toBe('BAD_USER_INPUT');
        expect((await fails(t.yoga, USERS, { first: 1, after: 'garbage' }, admin.token)).code).toBe('BAD_USER_INPUT');
        expect((await fails(t.yoga, USERS, { search: 'x'.repeat(101) }, admin.token)).code).toBe('BAD_USER_INPUT');
        expect((await fails(t.yoga, USERS, { search: 'a\u0000b' }, admin.token)).code).toBe('BAD_USER_INPUT');
      });

      it('an erased person is found neither by their old email nor by their old name', async () => {
        const tag = uuidv7().slice(-8);
        const person = await newUser(t.yoga, { email: `erin.${tag}@example.com`, displayName: `Erin Erased ${tag}` });
        const count = async (search: string) =>
          (await ok<{ users: { edges: unknown[] } }>(t.yoga, USERS, { search, first: 100 }, admin.token)).users.edges.length;
        expect(await count(`erin.${tag}`)).toBe(1);
        await ok(t.yoga, ERASE, { id: person.userId }, person.token);
        expect(await count(`erin.${tag}`)).toBe(0);
        expect(await count(`Erin Erased ${tag}`)).toBe(0);
        expect(await count(tag)).toBe(0);
      });
    });

    describe('roles', () => {
      it('an admin promotes a member; the last active admin cannot be demoted; roles take effect at once', async () => {
        expect((await fails(t.yoga, CHANGE_ROLE, { id: admin.userId, role: 'member' }, admin.token)).code).toBe('CONFLICT');
        const second = await newUser(t.yoga);
        expect((await ok<{ changeUserRole: { role: string } }>(t.yoga, CHANGE_ROLE, { id: second.userId, role: 'admin' }, admin.token))
          .changeUserRole).toEqual({ id: second.userId, role: 'admin' });
        // Their existing token is an admin's now.
        await ok(t.yoga, USERS, { first: 1 }, second.token);

        // With a second admin, the first may step down; then the second is the last and may not.
        await ok(t.yoga, CHANGE_ROLE, { id: admin.userId, role: 'member' }, admin.token);
        expect((await fails(t.yoga, USERS, { first: 1 }, admin.token)).code).toBe('FORBIDDEN');
        expect((await fails(t.yoga, CHANGE_ROLE, { id: second.userId, role: 'member' }, second.token)).code).toBe('CONFLICT');

        await ok(t.yoga, CHANGE_ROLE, { id: admin.userId, role: 'admin' }, second.token);
        await ok(t.yoga, CHANGE_ROLE, { id: second.userId, role: 'member' }, admin.token);
        expect((await fails(t.yoga, USERS, { first: 1 }, second.token)).code).toBe('FORBIDDEN');
        expect((await fails(t.yoga, CHANGE_ROLE, { id: NOBODY, role: 'admin' }, admin.token)).code).toBe('NOT_FOUND');
        expect((await fails(t.yoga, CHANGE_ROLE, { id: member.userId, role: 'root' }, admin.token)).code).toBe('BAD_USER_INPUT');
      });

      it('a deactivated admin does not count as the other admin', async () => {
        const second = await newUser(t.yoga);
        await ok(t.yoga, CHANGE_ROLE, { id: second.userId, role: 'admin' }, admin.token);
        await ok(t.yoga, DEACTIVATE, { id: second.userId }, admin.token);
        expect((await fails(t.yoga, CHANGE_ROLE, { id: admin.userId, role: 'member' }, admin.token)).code).toBe('CONFLICT');
      });
    });

    describe('reactivation', () => {
      it('a deactivated user can log in again; their old sessions stay ended', async () => {
        const person = await newUser(t.yoga);
        await ok(t.yoga, DEACTIVATE, { id: person.userId }, admin.token);
        expect((await fails(t.yoga, LOGIN, { email: person.email, password: person.password })).code).toBe('UNAUTHENTICATED');
        expect((await ok<{ reactivateUser: { active: boolean } }>(t.yoga, REACTIVATE, { id: person.userId }, admin.token)).reactivateUser)
          .toEqual({ id: person.userId, active: true });
        expect((await gql<{ me: unknown }>(t.yoga, ME, {}, person.token)).data?.me).toBeNull();
        const fresh = await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: person.email, password: person.password });
        expect((await ok<{ me: { id: string } }>(t.yoga, ME, {}, fresh.login.token)).me.id).toBe(person.userId);
        // Reactivating an active user changes nothing.
        await ok(t.yoga, REACTIVATE, { id: person.userId }, admin.token);
      });

      it('an erased user cannot be reactivated; an unknown one is NOT_FOUND', async () => {
        const person = await newUser(t.yoga);
        await ok(t.yoga, ERASE, { id: person.userId }, admin.token);
        expect((await fails(t.yoga, REACTIVATE, { id: person.userId }, admin.token)).code).toBe('CONFLICT');
        expect((await fails(t.yoga, REACTIVATE, { id: NOBODY }, admin.token)).code).toBe('NOT_FOUND');
      });
    });

    describe('password reset by an admin-issued token', () => {
      it('sets the password once, ends every session and live subscription, and never records the token', async () => {
        const person = await newUser(t.yoga);
        const stream = await subscribed(t, person.token);
        const issued = (await ok<{ issuePasswordReset: { token: string; expiresAt: string; user: { id: string } } }>(
          t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).issuePasswordReset;
        expect(issued.user.id).toBe(person.userId);
        const ttl = Date.parse(issued.expiresAt) - Date.now();
        expect(ttl).toBeGreaterThan(55 * 60_000);
        expect(ttl).toBeLessThanOrEqual(60 * 60_000);

        expect((await fails(t.yoga, RESET, { token: `${issued.token}x`, password: 'a new password' })).code).toBe('RESET_TOKEN_INVALID');
        expect((await fails(t.yoga, RESET, { token: 'nonsense', password: 'a new password' })).code).toBe('RESET_TOKEN_INVALID');
        expect((await fails(t.yoga, RESET, { token: issued.token, password: 'short' })).code).toBe('BAD_USER_INPUT');
        expect(await ok(t.yoga, RESET, { token: issued.token, password: 'a new password' })).toEqual({ resetPassword: true });

        expect(await waitForEnd(stream)).toBe('UNAUTHENTICATED');
        expect((await gql<{ me: unknown }>(t.yoga, ME, {}, person.token)).data?.me).toBeNull();
        expect((await fails(t.yoga, LOGIN, { email: person.email, password: person.password })).code).toBe('UNAUTHENTICATED');
        await ok(t.yoga, LOGIN, { email: person.email, password: 'a new password' });
        // Once only.
        expect((await fails(t.yoga, RESET, { token: issued.token, password: 'another password' })).code).toBe('RESET_TOKEN_INVALID');

        const log = eventsJson(await readWholeLog(t.app.store));
        expect(log).not.toContain(issued.token);
        expect(log).toContain(hashToken(issued.token));
      });

      it('a newer token supersedes an older one', async () => {
        const person = await newUser(t.yoga);
        const older = (await ok<{ issuePasswordReset: { token: string } }>(t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).issuePasswordReset.token;
        const newer = (await ok<{ issuePasswordReset: { token: string } }>(t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).issuePasswordReset.token;
        expect((await fails(t.yoga, RESET, { token: older, password: 'a new password' })).code).toBe('RESET_TOKEN_INVALID');
        await ok(t.yoga, RESET, { token: newer, password: 'a new password' });
      });

      it('no reset for deactivated or unknown users', async () => {
        const person = await newUser(t.yoga);
        const token = (await ok<{ issuePasswordReset: { token: string } }>(t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).issuePasswordReset.token;
        await ok(t.yoga, DEACTIVATE, { id: person.userId }, admin.token);
        expect((await fails(t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).code).toBe('CONFLICT');
        expect((await fails(t.yoga, RESET, { token, password: 'a new password' })).code).toBe('RESET_TOKEN_INVALID');
        expect((await fails(t.yoga, ISSUE_RESET, { id: NOBODY }, admin.token)).code).toBe('NOT_FOUND');
      });
    });

    describe('sessions', () => {
      it('mySessions lists your sessions, marks the current one, and shows where they came from to you only', async () => {
        const person = await newUser(t.yoga);
        const phone = await loginAs(t, person, 'PhoneBrowser/1.0');
        const mine = (await ok<{ mySessions: SessionNode[] }>(t.yoga, MY_SESSIONS, {}, phone)).mySessions;
        expect(mine).toHaveLength(2);
        expect(mine.every((s) => s.user.id === person.userId && s.active)).toBe(true);
        const current = mine.filter((s) => s.current);
        expect(current).toHaveLength(1);
        expect(current[0]!.userAgent).toBe('PhoneBrowser/1.0');

        // An admin sees them, without where they came from; another member never sees them.
        const seen = (await ok<{ userSessions: SessionNode[] }>(t.yoga, USER_SESSIONS, { id: person.userId }, admin.token)).userSessions;
        expect(seen.map((s) => s.id).sort()).toEqual(mine.map((s) => s.id).sort());
        expect(seen.every((s) => s.userAgent === null && s.clientAddress === null && !s.current)).toBe(true);
        const others = (await ok<{ mySessions: SessionNode[] }>(t.yoga, MY_SESSIONS, { activeOnly: false }, member.token)).mySessions;
        expect(others.some((s) => s.user.id !== member.userId)).toBe(false);
        expect(others.some((s) => mine.some((m) => m.id === s.id))).toBe(false);
      });

      it('you revoke your own sessions, nobody else\'s; an admin revokes anyone\'s', async () => {
        const person = await newUser(t.yoga);
        const laptop = await loginAs(t, person, 'Laptop/2.0');
        const stream = await subscribed(t, laptop);
        const sessions = (await ok<{ mySessions: SessionNode[] }>(t.yoga, MY_SESSIONS, {}, person.token)).mySessions;
        const laptopSession = sessions.find((s) => !s.current)!;

        // Another member cannot end it, nor learn it exists.
        expect((await fails(t.yoga, REVOKE, { id: laptopSession.id }, member.token)).code).toBe('NOT_FOUND');
        expect((await fails(t.yoga, REVOKE, { id: NOBODY }, member.token)).code).toBe('NOT_FOUND');
        expect((await ok<{ me: { id: string } }>(t.yoga, ME, {}, laptop)).me.id).toBe(person.userId);

        expect(await ok(t.yoga, REVOKE, { id: laptopSession.id }, person.token)).toEqual({ revokeSession: true });
        expect(await waitForEnd(stream)).toBe('UNAUTHENTICATED');
        expect((await gql<{ me: unknown }>(t.yoga, ME, {}, laptop)).data?.me).toBeNull();
        expect((await ok<{ me: { id: string } }>(t.yoga, ME, {}, person.token)).me.id).toBe(person.userId);
        const all = (await ok<{ mySessions: SessionNode[] }>(t.yoga, MY_SESSIONS, { activeOnly: false }, person.token)).mySessions;
        expect(all.find((s) => s.id === laptopSession.id)).toMatchObject({ active: false, endedReason: 'revoked' });
        expect((await ok<{ mySessions: SessionNode[] }>(t.yoga, MY_SESSIONS, {}, person.token)).mySessions.map((s) => s.id))
          .not.toContain(laptopSession.id);

        // An admin ends the remaining one, but only under its owner's id.
        const remaining = sessions.find((s) => s.current)!;
        expect((await fails(t.yoga, REVOKE_USER_SESSION, { userId: member.userId, sessionId: remaining.id }, admin.token)).code).toBe('NOT_FOUND');
        await ok(t.yoga, REVOKE_USER_SESSION, { userId: person.userId, sessionId: remaining.id }, admin.token);
        expect((await gql<{ me: unknown }>(t.yoga, ME, {}, person.token)).data?.me).toBeNull();
      });
    });

    describe('sign-up policy and invites', () => {
      const register = (variables: Record<string, unknown>) => gql<{ register: { id: string; role: string } }>(t.yoga, REGISTER_WITH_INVITE,
        { email: uniqueEmail(), password: 'a fine password', displayName: 'Newcomer', ...variables });

      it('is open by default; closed refuses with SIGNUP_CLOSED, and the address stays free', async () => {
        expect((await ok<{ signupPolicy: { mode: string } }>(t.yoga, POLICY)).signupPolicy.mode).toBe('open');
        expect((await ok<{ setSignupPolicy: { mode: string } }>(t.yoga, SET_POLICY, { mode: 'closed' }, admin.token)).setSignupPolicy.mode).toBe('closed');
        const email = uniqueEmail();
        const refused = await register({ email });
        expect(refused.errors?.[0]?.extensions?.code).toBe('SIGNUP_CLOSED');
        await ok(t.yoga, SET_POLICY, { mode: 'open' }, admin.token);
        expect((await register({ email })).data?.register.role).toBe('member');
        expect((await fails(t.yoga, SET_POLICY, { mode: 'anyone' }, admin.token)).code).toBe('BAD_USER_INPUT');
      });

      it('invite-only admits a valid code, counts its uses, and refuses used-up, revoked, expired and missing codes', async () => {
        await ok(t.yoga, SET_POLICY, { mode: 'invite_only' }, admin.token);
        try {
          expect((await register({})).errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');
          expect((await register({ inviteCode: 'evi_nope.nope' })).errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');

          const once = (await ok<{ createInvite: { code: string; invite: { id: string; createdBy: string; maxUses: number; uses: number; usable: boolean } } }>(
            t.yoga, CREATE_INVITE, { maxUses: 1 }, admin.token)).createInvite;
          expect(once.invite).toMatchObject({ createdBy: admin.userId, maxUses: 1, uses: 0, usable: true });
          expect((await register({ inviteCode: once.code })).data?.register.role).toBe('member');
          expect((await register({ inviteCode: once.code })).errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');
          const listed = (await ok<{ invites: { edges: Array<{ node: { id: string; uses: number; usable: boolean } }> } }>(t.yoga, INVITES, {}, admin.token))
            .invites.edges.map((e) => e.node);
          expect(listed.find((i) => i.id === once.invite.id)).toMatchObject({ uses: 1, usable: false });
          const usable = (await ok<{ invites: { edges: Array<{ node: { id: string } }> } }>(t.yoga, INVITES, { usableOnly: true }, admin.token))
            .invites.edges.map((e) => e.node.id);
          expect(usable).not.toContain(once.invite.id);

          const revoked = (await ok<{ createInvite: { code: string; invite: { id: string } } }>(t.yoga, CREATE_INVITE, {}, admin.token)).createInvite;
          expect((await ok<{ revokeInvite: { usable: boolean } }>(t.yoga, REVOKE_INVITE, { id: revoked.invite.id }, admin.token)).revokeInvite.usable).toBe(false);
          expect((await register({ inviteCode: revoked.code })).errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');
          expect((await fails(t.yoga, REVOKE_INVITE, { id: NOBODY }, admin.token)).code).toBe('NOT_FOUND');

          expect((await fails(t.yoga, CREATE_INVITE, { expiresAt: '2000-01-01T00:00:00Z' }, admin.token)).code).toBe('BAD_USER_INPUT');
          expect((await fails(t.yoga, CREATE_INVITE, { maxUses: 0 }, admin.token)).code).toBe('BAD_USER_INPUT');
          const many = (await ok<{ createInvite: { code: string } }>(t.yoga, CREATE_INVITE,
            { expiresAt: new Date(Date.now() + 3_600_000).toISOString(), maxUses: 5 }, admin.token)).createInvite;
          expect((await register({ inviteCode: many.code })).data?.register.role).toBe('member');
          expect((await register({ inviteCode: many.code })).data?.register.role).toBe('member');

          const log = eventsJson(await readWholeLog(t.app.store));
          for (const code of [once.code, revoked.code, many.code]) {
            expect(log).not.toContain(code);
            expect(log).toContain(hashToken(code));
          }
        } finally {
          await ok(t.yoga, SET_POLICY, { mode: 'open' }, admin.token);
        }
      });
    });

    it('rebuilding the users and signup read models reproduces them (sessions with their client fields, invites with their uses)', async () => {
      const snapshot = async () => ({
        sessions: (await t.app.readDb.query('SELECT session_id, client_address, user_agent, ended_at, ended_reason FROM sessions ORDER BY session_id')).rows,
        users: (await t.app.readDb.query('SELECT user_id, email, display_name, role, status, credentials_position FROM users ORDER BY user_id')).rows,
        invites: (await t.app.readDb.query('SELECT * FROM invites ORDER BY invite_id')).rows,
        policy: (await t.app.readDb.query('SELECT * FROM signup_policy')).rows,
      });
      const before = await snapshot();
      expect(before.invites.length).toBeGreaterThan(0);
      expect(before.sessions.some((s) => s.user_agent !== null)).toBe(true);
      const REBUILD = 'mutation($name: String!) { rebuildProjection(name: $name) { name lastError } }';
      for (const name of ['users', 'signup']) {
        expect((await ok<{ rebuildProjection: { lastError: string | null } }>(t.yoga, REBUILD, { name }, admin.token)).rebuildProjection.lastError).toBeNull();
      }
      expect(await snapshot()).toEqual(before);
    });

    it('the new events are in the audit log without secrets, and in the person\'s own export', async () => {
      const person = await newUser(t.yoga);
      const token = (await ok<{ issuePasswordReset: { token: string } }>(t.yoga, ISSUE_RESET, { id: person.userId }, admin.token)).issuePasswordReset.token;
      await ok(t.yoga, RESET, { token, password: 'a new password' });
      const relogged = (await ok<{ login: { token: string } }>(t.yoga, LOGIN, { email: person.email, password: 'a new password' })).login.token;

      const { rows } = await t.app.readDb.query<{ type: string; summary: Record<string, unknown>; subject_id: string | null }>(
        `SELECT type, summary, subject_id FROM audit_events WHERE type IN ('PasswordResetIssued', 'PasswordResetCompleted', 'SignupPolicySet',
           'InviteCreated', 'InviteRedeemed', 'InviteRevoked', 'UserReactivated', 'SessionEnded', 'UserRoleAssigned') ORDER BY position`);
      const types = new Set(rows.map((r) => r.type));
      for (const type of ['PasswordResetIssued', 'PasswordResetCompleted', 'SignupPolicySet', 'InviteCreated', 'InviteRedeemed', 'InviteRevoked',
        'UserReactivated', 'SessionEnded', 'UserRoleAssigned']) expect(types, type).toContain(type);
      const text = JSON.stringify(rows);
      expect(text).not.toMatch(/tokenHash|codeHash|[0-9a-f]{64}/);
      expect(rows.find((r) => r.type === 'SignupPolicySet')!.summary).toHaveProperty('mode');
      expect(rows.find((r) => r.type === 'SessionEnded' && r.summary.reason === 'revoked')).toBeDefined();
      expect(rows.find((r) => r.type === 'PasswordResetIssued' && r.subject_id === person.userId)!.summary).toMatchObject({ userId: person.userId });

      const exported = (await ok<{ exportMyData: { events: Array<{ type: string; data?: Record<string, unknown> }> } }>(
        t.yoga, '{ exportMyData }', {}, relogged)).exportMyData;
      const issued = exported.events.find((e) => e.type === 'PasswordResetIssued');
      expect(issued?.data).toMatchObject({ userId: person.userId, tokenHash: '[withheld: a secret hash]' });
      expect(exported.events.some((e) => e.type === 'PasswordResetCompleted')).toBe(true);
      expect(JSON.stringify(exported)).not.toContain(hashToken(token));
    });
  });
});

describe('first-admin bootstrap under a closed sign-up policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ provider: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the first account of an empty installation registers (as admin) even when sign-up is closed; the next does not', async () => {
    // A policy recorded before anyone registered (an imported log, say).
    await t.app.store.append(SIGNUP_POLICY_STREAM, [{
      id: uuidv7(), type: 'SignupPolicySet', schemaVersion: 1, data: { mode: 'closed' },
      metadata: { actorId: null, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date().toISOString() },
    }], { expectedRevision: 'no_stream' });
    const first = await ok<{ register: { role: string } }>(t.yoga, REGISTER, { email: uniqueEmail(), password: 'a fine password', displayName: 'First' });
    expect(first.register.role).toBe('admin');
    expect((await fails(t.yoga, REGISTER, { email: uniqueEmail(), password: 'a fine password', displayName: 'Second' })).code).toBe('SIGNUP_CLOSED');
  });
});
