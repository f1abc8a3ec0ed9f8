import { isApiKey } from '../commands/api-keys.ts';
import { hashToken } from '../infra/passwords.ts';
import type { ReadDb } from '../infra/read-db/port.ts';
import { liveApiKey, markApiKeyUsed } from '../projections/api-keys-queries.ts';
import { liveSession, type LiveSessionRow } from '../projections/users-queries.ts';
import type { Viewer } from './context.ts';
import { SessionCache } from './session-cache.ts';

const MAX_TOKEN_LENGTH = 200;
/** A key's last use is written at most this often per instance (and, in SQL, at most once a minute overall). */
const LAST_USE_INTERVAL_MS = 60_000;
const LAST_USE_MEMORY = 10_000;
/** An API key has no expiry: the latest date there is. */
const NEVER = new Date(8.64e15);

/** The bearer token in an `Authorization` header (HTTP) or a graphql-ws connection parameter. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match && match[1]!.length <= MAX_TOKEN_LENGTH ? match[1]! : null;
}

/** Per embedded read database (tests run several apps in one process); none for PostgreSQL. */
const sessionCaches = new WeakMap<ReadDb, SessionCache>();

function sessionCacheOf(readDb: ReadDb): SessionCache | null {
  if (readDb.kind !== 'pglite') return null;
  let cache = sessionCaches.get(readDb);
  if (!cache) sessionCaches.set(readDb, (cache = new SessionCache()));
  return cache;
}

/** The live session of a token hash, remembered on the embedded default (session-cache.ts). */
async function sessionOf(readDb: ReadDb, tokenHash: string): Promise<LiveSessionRow | null> {
  const cache = sessionCacheOf(readDb);
  const cached = cache?.get(tokenHash);
  if (cached) return cached;
  const version = cache?.version();
  const row = await liveSession(readDb, tokenHash);
  if (row && cache) cache.remember(tokenHash, row, version!);
  return row;
}

/** When this instance last wrote each key's last use (bounded: the oldest entries go first). */
const lastUseWritten = new Map<string, number>();

function recordUse(readDb: ReadDb, keyId: string): void {
  const now = Date.now();
  const written = lastUseWritten.get(keyId);
  if (written !== undefined && now - written < LAST_USE_INTERVAL_MS) return;
  lastUseWritten.delete(keyId);
  lastUseWritten.set(keyId, now);
  if (lastUseWritten.size > LAST_USE_MEMORY) lastUseWritten.delete(lastUseWritten.keys().next().value!);
  // Telemetry: a failed write must not fail the request it describes.
  markApiKeyUsed(readDb, keyId).catch(() => lastUseWritten.delete(keyId));
}

/**
 * A session counts when it has not ended or expired, its user is active, and it started after the
 * user's last password change. An API key (`evk_…`) counts while it is not revoked and its owner is
 * active; the viewer then carries its scopes, which security.ts and the admin auth scope check.
 */
export async function viewerForToken(readDb: ReadDb, token: string | null): Promise<Viewer | null> {
  if (!token) return null;
  if (isApiKey(token)) {
    const key = await liveApiKey(readDb, hashToken(token));
    if (!key) return null;
    recordUse(readDb, key.key_id);
    return {
      userId: key.owner_id, sessionId: `api-key:${key.key_id}`, role: key.role === 'admin' ? 'admin' : 'member',
      startedPosition: BigInt(key.created_position), expiresAt: NEVER, apiKey: { keyId: key.key_id, scopes: key.scopes },
    };
  }
  const row = await sessionOf(readDb, hashToken(token));
  return row ? {
    userId: row.user_id, sessionId: row.session_id, role: row.role === 'admin' ? 'admin' : 'member',
    startedPosition: BigInt(row.started_position), expiresAt: new Date(row.expires_at),
  } : null;
}
