import type { SessionEvent } from '../domain/account/session.ts';
import type { LoginRecordsExpired } from '../domain/retention/retention.ts';
import type { UserEvent } from '../domain/user/user.ts';
import { personalField, type Projection } from './projection.ts';


/** Users and their login sessions: one projection, so erasure and rebuilds keep both tables consistent. */
export const usersProjection: Projection = {
  name: 'users',
  tables: ['users', 'sessions'],
  eventTypes: ['UserRegistered', 'UserEmailChanged', 'UserDeactivated', 'UserDataErased', 'UserPasswordSet', 'UserRoleAssigned',
    'UserReactivated', 'SessionStarted', 'SessionEnded', 'SessionExpired', 'LoginRecordsExpired'],
  async handle(recorded, tx) {
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
};
