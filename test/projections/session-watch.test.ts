import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { endsSession, SessionWatch, type WatchedSession } from '../../src/projections/session-watch.ts';
import { newEvent } from '../support/events.ts';
import { testLogger } from './runner.contract.ts';

const session: WatchedSession = { userId: 'u1', sessionId: 's1', startedPosition: 10n, expiresAt: new Date(Date.now() + 3_600_000) };
const aborted = (signal: AbortSignal) => (signal.aborted ? Promise.resolve()
  : new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
const at = (type: string, data: Record<string, unknown>, position: bigint) => ({ type, data, position });

describe('endsSession', () => {
  it('knows which events end which sessions', () => {
    expect(endsSession(at('SessionEnded', { sessionId: 's1', userId: 'u1' }, 20n), session)).toBe(true);
    expect(endsSession(at('SessionEnded', { sessionId: 's2', userId: 'u1' }, 20n), session)).toBe(false);
    expect(endsSession(at('UserPasswordSet', { userId: 'u1' }, 11n), session)).toBe(true);
    expect(endsSession(at('UserPasswordSet', { userId: 'u1' }, 10n), session)).toBe(false);
    expect(endsSession(at('UserPasswordSet', { userId: 'u1' }, 9n), session)).toBe(false);
    expect(endsSession(at('UserPasswordSet', { userId: 'u2' }, 50n), session)).toBe(false);
    expect(endsSession(at('UserDeactivated', { userId: 'u1' }, 5n), session)).toBe(true);
    expect(endsSession(at('UserDataErased', { userId: 'u1' }, 5n), session)).toBe(true);
    expect(endsSession(at('UserDeactivated', { userId: 'u2' }, 5n), session)).toBe(false);
    expect(endsSession(at('SessionStarted', { sessionId: 's1', userId: 'u1' }, 20n), session)).toBe(false);
  });
});

describe('SessionWatch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-sessions-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('aborts the signals of the sessions an appended event ends, and only those; expiry ends a session too', async () => {
    const watch = new SessionWatch({ store, logger: testLogger().logger });
    await store.append('old-1', [newEvent('SessionEnded', { sessionId: 's1', userId: 'u1' })]); // before start: ignored
    await watch.start();
    const mine = watch.watch(session);
    const other = watch.watch({ ...session, sessionId: 's2' });
    const expired = watch.watch({ ...session, sessionId: 's3', expiresAt: new Date(Date.now() - 1) });
    expect(expired.signal.aborted).toBe(true);
    expect(expired.signal.reason).toBe('expired');
    expect(mine.signal.aborted).toBe(false);
    await store.append('session-s1', [newEvent('SessionEnded', { sessionId: 's1', userId: 'u1' })]);
    await aborted(mine.signal);
    expect(mine.signal.reason).toBe('ended');
    expect(other.signal.aborted).toBe(false);
    other.release();
    await store.append('user-u1', [newEvent('UserDeactivated', { userId: 'u1' })]);
    const later = watch.watch({ ...session, sessionId: 's4' });
    await store.append('user-u1', [newEvent('UserDataErased', { userId: 'u1' })]);
    await aborted(later.signal);
    expect(other.signal.aborted).toBe(false); // released before: no longer watched
    await watch.stop();
  });
});
