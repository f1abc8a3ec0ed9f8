import { tablesVersion } from '../projections/read-model-changes.ts';
import type { LiveSessionRow } from '../projections/users-queries.ts';

/** Sessions remembered at most; the least recently used goes first. */
const MAX_SESSIONS = 10_000;
/** A remembered session is looked up again after this long, whatever happened. */
const MAX_AGE_MS = 60_000;
/** What liveSession reads. */
const TABLES = ['users', 'sessions'];

interface Entry {
  row: LiveSessionRow;
  expiresAtMs: number;
  version: number;
  cachedAtMs: number;
}

/**
 * Live sessions by token hash, so an authenticated request on the embedded default skips a read of
 * the users read model: that lookup was a third of a small query's read-database time
 * (docs/benchmarks.md, API throughput). Exact, not eventually right: every entry is dropped when
 * the users projection writes in this process (read-model-changes.ts), before that write commits, so
 * a logout, password change, deactivation, role change or erasure counts from the same moment it does
 * in the read model; an expiry counts by the clock. Used only where this process is the read model's
 * one writer (PGlite); with PostgreSQL another instance may apply the users projection.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>();

  /** The session of `tokenHash` if remembered and still valid, else undefined (look it up). */
  get(tokenHash: string, nowMs = Date.now()): LiveSessionRow | undefined {
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    if (entry.version !== tablesVersion(TABLES) || entry.expiresAtMs <= nowMs || nowMs - entry.cachedAtMs >= MAX_AGE_MS) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    this.entries.delete(tokenHash);
    this.entries.set(tokenHash, entry);
    return entry.row;
  }

  /** Call before the lookup; pass what it returns to remember(). */
  version(): number {
    return tablesVersion(TABLES);
  }

  /** Remembers a looked-up session, unless the tables changed since `versionBefore` (the lookup may be stale). */
  remember(tokenHash: string, row: LiveSessionRow, versionBefore: number, nowMs = Date.now()): void {
    if (versionBefore !== tablesVersion(TABLES)) return;
    const expiresAtMs = new Date(row.expires_at).getTime();
    if (!(expiresAtMs > nowMs)) return;
    this.entries.delete(tokenHash);
    this.entries.set(tokenHash, { row, expiresAtMs, version: versionBefore, cachedAtMs: nowMs });
    if (this.entries.size > MAX_SESSIONS) this.entries.delete(this.entries.keys().next().value!);
  }
}
