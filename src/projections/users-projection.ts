import type { UserEvent } from '../domain/user/user.ts';
import type { RecordedEvent } from '../infra/event-store/port.ts';
import type { Projection } from './projection.ts';

/** A personal field whose key was erased reads as null in the read model, never as the marker. */
function personal(event: RecordedEvent, field: string, value: string): string | null {
  return event.erasedFields?.includes(field) ? null : value;
}

export const usersProjection: Projection = {
  name: 'users',
  tables: ['users'],
  eventTypes: ['UserRegistered', 'UserEmailChanged', 'UserDeactivated'],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as UserEvent;
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'UserRegistered':
        await tx.query(
          `INSERT INTO users (user_id, email, display_name, status, registered_at, updated_at)
           VALUES ($1, $2, $3, 'active', $4, $4)
           ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, display_name = excluded.display_name, updated_at = excluded.updated_at`,
          [event.data.userId, personal(recorded, 'email', event.data.email), personal(recorded, 'displayName', event.data.displayName), at],
        );
        return;
      case 'UserEmailChanged':
        await tx.query('UPDATE users SET email = $2, updated_at = $3 WHERE user_id = $1',
          [event.data.userId, personal(recorded, 'email', event.data.email), at]);
        return;
      case 'UserDeactivated':
        await tx.query(`UPDATE users SET status = 'deactivated', deactivation_reason = $2, updated_at = $3 WHERE user_id = $1`,
          [event.data.userId, event.data.reason, at]);
        return;
    }
  },
};
