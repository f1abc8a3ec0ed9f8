import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERASED } from '../../src/infra/personal-data/codec.ts';
import { fails, gql, LOGIN, ME, newUser, ok, startConversation, startTestApp, type TestApp, type TestUser } from './support.ts';

const DEACTIVATE = 'mutation($id: ID!, $reason: String) { deactivateUser(id: $id, reason: $reason) { id active } }';
const ERASE = 'mutation($id: ID!) { eraseUser(id: $id) }';
const REBUILD = 'mutation($name: String!) { rebuildProjection(name: $name) { name state lagEvents lastError } }';

describe('admin and erasure mutations', () => {
  let t: TestApp;
  let admin: TestUser;
  let member: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ provider: false });
    admin = await newUser(t.yoga);
    member = await newUser(t.yoga);
    expect(admin.role).toBe('admin');
    expect(member.role).toBe('member');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('members may not deactivate, erase others, or rebuild', async () => {
    const other = await newUser(t.yoga);
    expect((await fails(t.yoga, DEACTIVATE, { id: other.userId }, member.token)).code).toBe('FORBIDDEN');
    expect((await fails(t.yoga, ERASE, { id: other.userId }, member.token)).code).toBe('FORBIDDEN');
    expect((await fails(t.yoga, REBUILD, { name: 'users' }, member.token)).code).toBe('FORBIDDEN');
    expect((await ok<{ me: { id: string } }>(t.yoga, ME, {}, other.token)).me.id).toBe(other.userId);
  });

  it('an admin deactivates a user: their token stops working and they cannot log in', async () => {
    const target = await newUser(t.yoga);
    const result = await ok<{ deactivateUser: { id: string; active: boolean } }>(t.yoga, DEACTIVATE, { id: target.userId, reason: 'left' }, admin.token);
    expect(result.deactivateUser).toEqual({ id: target.userId, active: false });
    expect((await gql<{ me: unknown }>(t.yoga, ME, {}, target.token)).data?.me).toBeNull();
    expect((await fails(t.yoga, LOGIN, { email: target.email, password: target.password })).code).toBe('UNAUTHENTICATED');
  });

  it('an admin cannot deactivate themself, and unknown users are NOT_FOUND', async () => {
    expect((await fails(t.yoga, DEACTIVATE, { id: admin.userId }, admin.token)).code).toBe('CONFLICT');
    expect((await fails(t.yoga, DEACTIVATE, { id: '01900000-0000-7000-8000-000000000000' }, admin.token)).code).toBe('NOT_FOUND');
  });

  it('a person erases themself: sessions, account and conversations go; the log keeps only erased markers', async () => {
    const person = await newUser(t.yoga);
    const conversation = await startConversation(t.yoga, person.token, { title: 'My private thoughts', model: 'any-model' });
    expect(await ok<{ eraseUser: string }>(t.yoga, ERASE, { id: person.userId }, person.token)).toEqual({ eraseUser: person.userId });

    expect((await gql<{ me: unknown }>(t.yoga, ME, {}, person.token)).data?.me).toBeNull();
    const rows = await t.app.readDb.query('SELECT 1 FROM conversations WHERE owner_id = $1 UNION ALL SELECT 1 FROM users WHERE user_id = $1', [person.userId]);
    expect(rows.rows).toHaveLength(0);
    const [started] = await t.app.store.readStream(`conversation-${conversation.id}`);
    expect(started!.data).toMatchObject({ title: ERASED });
    const [registered] = await t.app.store.readStream(`user-${person.userId}`);
    expect(registered!.data).toMatchObject({ email: ERASED, displayName: ERASED });
    // The address is free again.
    await expect(newUser(t.yoga, { email: person.email })).resolves.toMatchObject({ email: person.email });
  });

  it('an admin erases someone else', async () => {
    const person = await newUser(t.yoga);
    await ok(t.yoga, ERASE, { id: person.userId }, admin.token);
    expect((await fails(t.yoga, LOGIN, { email: person.email, password: person.password })).code).toBe('UNAUTHENTICATED');
  });

  it('an admin rebuilds a projection; an unknown name is NOT_FOUND', async () => {
    const before = (await t.app.readDb.query('SELECT user_id, email, status FROM users ORDER BY user_id')).rows;
    const result = await ok<{ rebuildProjection: { name: string; state: string; lastError: string | null } }>(
      t.yoga, REBUILD, { name: 'users' }, admin.token);
    expect(result.rebuildProjection).toMatchObject({ name: 'users', state: 'running', lastError: null });
    expect((await t.app.readDb.query('SELECT user_id, email, status FROM users ORDER BY user_id')).rows).toEqual(before);
    expect((await ok<{ me: { id: string } }>(t.yoga, ME, {}, admin.token)).me.id).toBe(admin.userId);
    expect((await fails(t.yoga, REBUILD, { name: 'nope' }, admin.token)).code).toBe('NOT_FOUND');
  });
});
