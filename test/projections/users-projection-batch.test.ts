// usersProjection.handleBatch must give exactly the rows handle() gives event by event: checked on
// generated event sequences (registrations and session starts in runs, repeated ids, updates and
// erasures between them, erased personal fields) in two PGlite databases side by side.
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';
import type { SqlExecutor } from '../../src/infra/read-db/port.ts';
import { usersProjection } from '../../src/projections/users-projection.ts';

const MIGRATIONS = ['0002_users.sql', '0003_accounts.sql', '0016_account_admin.sql'];
let one: PGlite;
let batched: PGlite;

beforeAll(async () => {
  one = new PGlite();
  batched = new PGlite();
  for (const name of MIGRATIONS) {
    const sql = await readFile(new URL(`../../migrations/${name}`, import.meta.url), 'utf8');
    await one.exec(sql);
    await batched.exec(sql);
  }
});
afterAll(async () => {
  await one?.close();
  await batched?.close();
});

const USERS = ['u1', 'u2', 'u3', 'u4'];
const SESSIONS = ['s1', 's2', 's3', 's4', 's5'];
type Step =
  | { type: 'UserRegistered'; user: number; erased: boolean }
  | { type: 'SessionStarted'; session: number; user: number }
  | { type: 'UserEmailChanged' | 'UserDeactivated' | 'UserDataErased'; user: number }
  | { type: 'SessionEnded'; session: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('UserRegistered' as const), user: fc.nat(3), erased: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('SessionStarted' as const), session: fc.nat(4), user: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constantFrom('UserEmailChanged' as const, 'UserDeactivated' as const, 'UserDataErased' as const), user: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('SessionEnded' as const), session: fc.nat(4) }) },
);

function recorded(steps: Step[]): RecordedEvent[] {
  return steps.map((s, i) => {
    const position = BigInt(i + 1);
    const occurredAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    let data: Record<string, unknown>;
    let erasedFields: string[] | undefined;
    switch (s.type) {
      case 'UserRegistered':
        data = { userId: USERS[s.user], email: `${USERS[s.user]}-${i}@example.test`, displayName: `Name ${i}` };
        if (s.erased) erasedFields = ['email', 'displayName'];
        break;
      case 'SessionStarted':
        data = { sessionId: SESSIONS[s.session], userId: USERS[s.user], tokenHash: `hash-${SESSIONS[s.session]}`, expiresAt: occurredAt, clientAddress: '127.0.0.1', userAgent: `agent ${i}` };
        break;
      case 'UserEmailChanged':
        data = { userId: USERS[s.user], email: `changed-${i}@example.test` };
        break;
      case 'UserDeactivated':
        data = { userId: USERS[s.user], reason: `reason ${i}` };
        break;
      case 'UserDataErased':
        data = { userId: USERS[s.user] };
        break;
      case 'SessionEnded':
        data = { sessionId: SESSIONS[s.session], reason: 'logout' };
        break;
    }
    return {
      id: `e${i}`, stream: 's', revision: position, position, type: s.type, schemaVersion: 1, data,
      metadata: { actorId: null, correlationId: 'c', causationId: null, requestId: null, occurredAt }, ...(erasedFields ? { erasedFields } : {}),
    };
  });
}

const snapshot = async (db: PGlite) => ({
  users: (await db.query('SELECT * FROM users ORDER BY user_id')).rows,
  sessions: (await db.query('SELECT * FROM sessions ORDER BY session_id')).rows,
});

describe('usersProjection.handleBatch (unit)', () => {
  it('writes exactly what handle() writes event by event', async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
      const events = recorded(steps);
      for (const db of [one, batched]) await db.exec('TRUNCATE users, sessions');
      let failedOne = false;
      try {
        await one.transaction(async (tx) => { for (const event of events) await usersProjection.handle(event, tx as unknown as SqlExecutor); });
      } catch {
        failedOne = true; // e.g. two sessions with one token hash: the batch must fail too
      }
      let failedBatch = false;
      try {
        await batched.transaction((tx) => usersProjection.handleBatch!(events, tx as unknown as SqlExecutor));
      } catch {
        failedBatch = true;
      }
      expect(failedBatch).toBe(failedOne);
      expect(await snapshot(batched)).toEqual(await snapshot(one));
    }), { numRuns: 150 });
  });

  it('writes a run of registrations in one statement', async () => {
    await batched.exec('TRUNCATE users, sessions');
    const statements: string[] = [];
    const events = recorded(USERS.map((_, user) => ({ type: 'UserRegistered' as const, user, erased: false })));
    await batched.transaction(async (tx) => {
      const counting = { query: (sql: string, params?: unknown[]) => { statements.push(sql); return tx.query(sql, params); }, exec: (sql: string) => tx.exec(sql) };
      await usersProjection.handleBatch!(events, counting as unknown as SqlExecutor);
    });
    expect(statements).toHaveLength(1);
    expect((await batched.query('SELECT count(*)::int AS n FROM users')).rows).toEqual([{ n: USERS.length }]);
  });
});
