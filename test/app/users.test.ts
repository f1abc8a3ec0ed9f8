import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { DomainError } from '../../src/domain/decider.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { ERASED } from '../../src/infra/personal-data/codec.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';

interface Setup {
  env: Record<string, string>;
  /** The raw log, without the personal-data codec. */
  openRawLog(): Promise<EventStore>;
  dispose(): Promise<void>;
}

function userFlow(name: string, setup: () => Promise<Setup>) {
  describe(`User capability end to end: ${name}`, () => {
    let s: Setup;
    let app: App;
    const start = async () => createApp(loadConfig(s.env), createLogger('silent', false));
    const context = () => app.commandContext('tester');
    const userRow = async (userId: string) =>
      (await app.readDb.query<{ email: string | null; display_name: string; status: string }>(
        'SELECT email, display_name, status FROM users WHERE user_id = $1', [userId])).rows[0];
    const settle = async (position: bigint | null) => {
      expect(position).not.toBeNull();
      expect(await app.projections.waitFor(position!, { timeoutMs: 60_000 })).toBe(true);
    };

    beforeAll(async () => {
      s = await setup();
      app = await start();
    });
    afterAll(async () => {
      await app?.close();
      await s?.dispose();
    });

    it('registers a user, projects it, and keeps the email encrypted in the log', async () => {
      const userId = uuidv7();
      const result = await app.users.register({ userId, email: ' Ada@Example.com', displayName: 'Ada Lovelace' }, context());
      await settle(result.position);
      expect(await userRow(userId)).toEqual({ email: 'ada@example.com', display_name: 'Ada Lovelace', status: 'active' });

      const raw = await s.openRawLog();
      try {
        const [stored] = await raw.readStream(`user-${userId}`);
        expect(JSON.stringify(stored!.data)).not.toContain('ada@example.com');
        expect(JSON.stringify(stored!.data)).not.toContain('Lovelace');
        expect(stored!.metadata).toMatchObject({ actorId: 'tester' });
        expect(stored!.id).toMatch(/^[0-9a-f-]{14}7/);
      } finally {
        await raw.close();
      }
    });

    it('keeps emails unique, also under concurrent registrations', async () => {
      const email = `grace-${uuidv7()}@example.com`;
      await app.users.register({ userId: uuidv7(), email, displayName: 'Grace' }, context());
      const again = await app.users.register({ userId: uuidv7(), email: email.toUpperCase(), displayName: 'G' }, context()).catch((e) => e);
      expect(again).toBeInstanceOf(DomainError);
      expect(again.code).toBe('CONFLICT');

      const contested = `race-${uuidv7()}@example.com`;
      const results = await Promise.allSettled(Array.from({ length: 6 }, () =>
        app.users.register({ userId: uuidv7(), email: contested, displayName: 'Racer' }, context())));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('changing an email frees the old address', async () => {
      const userId = uuidv7();
      const old = `old-${uuidv7()}@example.com`;
      await app.users.register({ userId, email: old, displayName: 'Mover' }, context());
      const changed = await app.users.changeEmail({ userId, email: `new-${uuidv7()}@example.com` }, context());
      await settle(changed.position);
      expect((await userRow(userId))!.email).toMatch(/^new-/);
      await expect(app.users.register({ userId: uuidv7(), email: old, displayName: 'Next' }, context()))
        .resolves.toMatchObject({ state: { status: 'active', email: old }, position: expect.any(BigInt) });
    });

    it('deactivates a user', async () => {
      const userId = uuidv7();
      await app.users.register({ userId, email: `d-${uuidv7()}@example.com`, displayName: 'Dee' }, context());
      const result = await app.users.deactivate({ userId, reason: 'left the team' }, context());
      await settle(result.position);
      expect((await userRow(userId))!.status).toBe('deactivated');
    });

    it('erasing a user drops the row and leaves only an erased marker in the log', async () => {
      const userId = uuidv7();
      await app.users.register({ userId, email: `e-${uuidv7()}@example.com`, displayName: 'Erin' }, context());
      const result = await app.users.eraseData({ userId }, context());
      await settle(result.position);
      expect(await userRow(userId)).toBeUndefined();
      const [registered] = await app.store.readStream(`user-${userId}`);
      expect(registered!.data).toMatchObject({ userId, email: ERASED, displayName: ERASED });
      expect(registered!.erasedFields).toEqual(expect.arrayContaining(['email', 'displayName']));
    });

    it('rebuilds the users read model from the log to the same rows', async () => {
      const query = 'SELECT user_id, email, display_name, status FROM users ORDER BY user_id';
      const before = (await app.readDb.query(query)).rows;
      await app.projections.rebuild('users');
      expect((await app.readDb.query(query)).rows).toEqual(before);
    });

    it('survives a restart: the log and the read model are still there and projections resume', async () => {
      const userId = uuidv7();
      await app.users.register({ userId, email: `r-${uuidv7()}@example.com`, displayName: 'Rey' }, context());
      await app.close();
      app = await start();
      const result = await app.users.deactivate({ userId }, context());
      await settle(result.position);
      expect((await userRow(userId))!.status).toBe('deactivated');
    });
  });
}

userFlow('embedded (SQLite + PGlite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-app-'));
  return {
    env: { DATA_DIR: dir },
    openRawLog: async () => new SqliteEventStore(join(dir, 'events.sqlite')),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const skip = postgresSkipReason('User capability on PostgreSQL');
describe.skipIf(skip)('postgres', () => {
  userFlow('PostgreSQL', async () => {
    const database: TestDatabase = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'evident-app-pg-'));
    return {
      env: { DATA_DIR: dir, DATABASE_URL: database.url, MASTER_KEY: Buffer.alloc(32, 3).toString('base64') },
      openRawLog: () => PostgresEventStore.open({ connectionString: database.url }),
      dispose: async () => {
        rmSync(dir, { recursive: true, force: true });
        await database.drop();
      },
    };
  });
});
