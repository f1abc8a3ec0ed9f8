import type { SessionEvent } from '../domain/account/session.ts';
import type { LoginRecordsExpired } from '../domain/retention/retention.ts';
import type { UserEvent } from '../domain/user/user.ts';
import type { RecordedEvent } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { personalField, type Projection } from './projection.ts';
import { noteTablesChanged } from './read-model-changes.ts';

const TABLES = ['users', 'sessions'];


/** Users and their login sessions: one projection, so erasure and rebuilds keep both tables consistent. */
export const usersProjection: Projection = {
  name: 'users',
  tables: TABLES,
  eventTypes: ['UserRegistered', 'UserEmailChanged', 'UserDeactivated', 'UserDataErased', 'UserPasswordSet', 'UserRoleAssigned',
    'UserReactivated', 'SessionStarted', 'SessionEnded', 'SessionExpired', 'LoginRecordsExpired'],
  async handle(recorded, tx) {
    noteTablesChanged(TABLES); // before the commit: the session cache drops what it holds
    const event = { type: recorded.type, data: recorded.data } as UserEvent | SessionEvent | LoginRecordsExpired;
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'UserRegistered':
        await tx.query(
          `INSERT INTO users (user_id, email, display_name, status, registered_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $4)
           ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, display_name = excluded.display_name, updated_at = excluded.updated_at`,
          [event.data.userId, personalField(recorded, 'email', event.data.email), personalField(recorded, 'displayName', event.data.displayName), at],
        );
        return;
      case 'UserEmailChanged':
        await tx.query('UPDATE users SET email = $2, updated_at = $3 WHERE user_id = $1',
          [event.data.userId, personalField(recorded, 'email', event.data.email), at]);
        return;
      case 'UserDeactivated':
        await tx.query(`UPDATE users SET status = 'deactivated', deactivation_reason = $2, updated_at = $3 WHERE user_id = $1`,
          [event.data.userId, event.data.reason, at]);
        return;
      case 'UserDataErased':
        await tx.query('DELETE FROM users WHERE user_id = $1', [event.data.userId]);
        await tx.query('DELETE FROM sessions WHERE user_id = $1', [event.data.userId]);
        return;
      case 'UserPasswordSet':
        await tx.query('UPDATE users SET credentials_position = $2, updated_at = $3 WHERE user_id = $1',
          [event.data.userId, recorded.position.toString(), at]);
        return;
      case 'UserRoleAssigned':
        await tx.query('UPDATE users SET role = $2, updated_at = $3 WHERE user_id = $1', [event.data.userId, event.data.role, at]);
        return;
      case 'UserReactivated':
        // Sessions from before (the deactivation ended them) stay invalid: they started before this position.
        await tx.query(`UPDATE users SET status = 'active', deactivation_reason = NULL, credentials_position = $2, updated_at = $3 WHERE user_id = $1`,
          [event.data.userId, recorded.position.toString(), at]);
        return;
      case 'SessionStarted':
        await tx.query(
          `INSERT INTO sessions (session_id, user_id, token_hash, started_position, created_at, expires_at, client_address, user_agent)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (session_id) DO NOTHING`,
          [event.data.sessionId, event.data.userId, event.data.tokenHash, recorded.position.toString(), at, event.data.expiresAt,
            personalField(recorded, 'clientAddress', event.data.clientAddress ?? null), personalField(recorded, 'userAgent', event.data.userAgent ?? null)],
        );
        return;
      case 'SessionEnded':
      case 'SessionExpired':
        await tx.query('UPDATE sessions SET ended_at = $2, ended_reason = $3 WHERE session_id = $1 AND ended_at IS NULL',
          [event.data.sessionId, at, event.type === 'SessionExpired' ? 'expired' : event.data.reason]);
        return;
      case 'LoginRecordsExpired':
        // Retention: exactly the sessions the expiry names (the reactor left out held people's).
        await tx.query('DELETE FROM sessions WHERE session_id = ANY($1::text[])',
          [event.data.sessions.map((session) => session.sessionId)]);
        return;
    }
  },
  /**
   * Consecutive registrations and consecutive session starts each become one multi-row insert (a
   * rebuild is mostly those); every other event goes through handle(). A run is cut where an id
   * repeats, as one INSERT … ON CONFLICT DO UPDATE may not touch the same row twice.
   */
  async handleBatch(events, tx) {
    noteTablesChanged(TABLES);
    let run: RecordedEvent[] = [];
    let runType: string | null = null;
    let ids = new Set<string>();
    const flush = async () => {
      if (run.length === 1) await usersProjection.handle(run[0]!, tx);
      else if (run.length > 1) await (runType === 'UserRegistered' ? insertUsers(run, tx) : insertSessions(run, tx));
      run = [];
      runType = null;
      ids = new Set();
    };
    for (const recorded of events) {
      const id = recorded.type === 'UserRegistered' ? (recorded.data as { userId: string }).userId
        : recorded.type === 'SessionStarted' ? (recorded.data as { sessionId: string }).sessionId : null;
      if (id === null) {
        await flush();
        await usersProjection.handle(recorded, tx);
        continue;
      }
      if (recorded.type !== runType || ids.has(id)) await flush();
      run.push(recorded);
      runType = recorded.type;
      ids.add(id);
    }
    await flush();
  },
};

async function insertUsers(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void> {
  const rows = events.map((recorded) => {
    const data = (recorded as unknown as { data: Extract<UserEvent, { type: 'UserRegistered' }>['data'] }).data;
    return [data.userId, personalField(recorded, 'email', data.email), personalField(recorded, 'displayName', data.displayName), recorded.metadata.occurredAt];
  });
  await tx.query(
    `INSERT INTO users (user_id, email, display_name, status, registered_at, updated_at)
     SELECT u.user_id, u.email, u.display_name, 'active', u.at::timestamptz, u.at::timestamptz
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(user_id, email, display_name, at)
     ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, display_name = excluded.display_name, updated_at = excluded.updated_at`,
    [0, 1, 2, 3].map((column) => rows.map((row) => row[column] ?? null)),
  );
}

async function insertSessions(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void> {
  const rows = events.map((recorded) => {
    const data = (recorded as unknown as { data: Extract<SessionEvent, { type: 'SessionStarted' }>['data'] }).data;
    return [data.sessionId, data.userId, data.tokenHash, recorded.position.toString(), recorded.metadata.occurredAt, data.expiresAt,
      personalField(recorded, 'clientAddress', data.clientAddress ?? null), personalField(recorded, 'userAgent', data.userAgent ?? null)];
  });
  await tx.query(
    `INSERT INTO sessions (session_id, user_id, token_hash, started_position, created_at, expires_at, client_address, user_agent)
     SELECT s.session_id, s.user_id, s.token_hash, s.started_position::bigint, s.created_at::timestamptz, s.expires_at::timestamptz,
            s.client_address, s.user_agent
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       AS s(session_id, user_id, token_hash, started_position, created_at, expires_at, client_address, user_agent)
     ON CONFLICT (session_id) DO NOTHING`,
    [0, 1, 2, 3, 4, 5, 6, 7].map((column) => rows.map((row) => row[column] ?? null)),
  );
}
