import type { ApiKeyEvent } from '../domain/api-key/api-key.ts';
import { ERASURE_EVENT } from './erasure-scrub.ts';
import { personalField, type Projection } from './projection.ts';

/** API keys by owner and by token hash (authentication reads it on every request that carries a key). */
export const apiKeysProjection: Projection = {
  name: 'api-keys',
  tables: ['api_keys'],
  eventTypes: ['ApiKeyCreated', 'ApiKeyRevoked', ERASURE_EVENT],
  async handle(recorded, tx) {
    const at = recorded.metadata.occurredAt;
    if (recorded.type === ERASURE_EVENT) {
      await tx.query('DELETE FROM api_keys WHERE owner_id = $1', [(recorded.data as { userId: string }).userId]);
      return;
    }
    const event = { type: recorded.type, data: recorded.data } as ApiKeyEvent;
    switch (event.type) {
      case 'ApiKeyCreated':
        await tx.query(
          `INSERT INTO api_keys (key_id, owner_id, name, scopes, token_hash, display_prefix, created_position, created_at)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8) ON CONFLICT (key_id) DO NOTHING`,
          [event.data.keyId, event.data.ownerId, personalField(recorded, 'name', event.data.name), JSON.stringify(event.data.scopes),
            event.data.tokenHash, event.data.displayPrefix, recorded.position.toString(), at],
        );
        return;
      case 'ApiKeyRevoked':
        await tx.query('UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL', [event.data.keyId, at]);
        return;
    }
  },
};
