import { describe, expect, it } from 'vitest';
import { SessionCache } from '../../src/graphql/session-cache.ts';
import { noteTablesChanged } from '../../src/projections/read-model-changes.ts';
import type { LiveSessionRow } from '../../src/projections/users-queries.ts';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const row = (sessionId: string, expiresAt = '2026-12-03T13:00:00.000Z'): LiveSessionRow => ({
  user_id: 'u1', session_id: sessionId, role: null, started_position: '5', expires_at: expiresAt,
});

function remembered(cache: SessionCache, hash: string, session: LiveSessionRow, now = NOW): void {
  cache.remember(hash, session, cache.version(), now);
}

describe('SessionCache', () => {
  it('gives back a session it was handed, for that token hash only', () => {
    const cache = new SessionCache();
    remembered(cache, 'h1', row('s1'));
    expect(cache.get('h1', NOW + 1_000)).toEqual(row('s1'));
    expect(cache.get('h2', NOW + 1_000)).toBeUndefined();
  });

  it('forgets everything when the users or sessions table changes in this process', () => {
    for (const table of ['users', 'sessions']) {
      const cache = new SessionCache();
      remembered(cache, 'h1', row('s1'));
      noteTablesChanged([table]);
      expect(cache.get('h1', NOW)).toBeUndefined();
    }
  });

  it('keeps its sessions when another read model changes', () => {
    const cache = new SessionCache();
    remembered(cache, 'h1', row('s1'));
    noteTablesChanged(['conversations', 'audit_log']);
    expect(cache.get('h1', NOW)).toEqual(row('s1'));
  });

  it('refuses a lookup that the tables changed under (it may have read the old rows)', () => {
    const cache = new SessionCache();
    const before = cache.version();
    noteTablesChanged(['sessions']); // e.g. a logout applied while the lookup ran
    cache.remember('h1', row('s1'), before, NOW);
    expect(cache.get('h1', NOW)).toBeUndefined();
  });

  it('ends a session at its expiry by the clock, with no event', () => {
    const cache = new SessionCache();
    remembered(cache, 'h1', row('s1', '2026-12-03T12:00:10.000Z'));
    expect(cache.get('h1', NOW + 9_999)).toEqual(row('s1', '2026-12-03T12:00:10.000Z'));
    expect(cache.get('h1', NOW + 10_000)).toBeUndefined();
    remembered(cache, 'h2', row('s2', '2026-12-03T11:59:59.000Z'));
    expect(cache.get('h2', NOW)).toBeUndefined();
  });

  it('looks a session up again after a minute whatever happened', () => {
    const cache = new SessionCache();
    remembered(cache, 'h1', row('s1'));
    expect(cache.get('h1', NOW + 59_999)).toBeDefined();
    expect(cache.get('h1', NOW + 60_000)).toBeUndefined();
  });

  it('holds at most 10,000 sessions, dropping the least recently used', () => {
    const cache = new SessionCache();
    for (let i = 0; i < 10_000; i++) remembered(cache, `h${i}`, row(`s${i}`));
    expect(cache.get('h0', NOW)).toBeDefined(); // used: now the most recent
    remembered(cache, 'h-new', row('s-new'));
    expect(cache.get('h1', NOW)).toBeUndefined();
    expect(cache.get('h0', NOW)).toBeDefined();
    expect(cache.get('h-new', NOW)).toBeDefined();
  });
});
