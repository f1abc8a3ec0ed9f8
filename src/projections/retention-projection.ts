import type { LegalHoldEvent, RetentionPolicyEvent } from '../domain/retention/retention.ts';
import type { Projection } from './projection.ts';

/** The retention policy and the legal holds in force (migrations/0010_retention.sql). */
export const retentionProjection: Projection = {
  name: 'retention',
  tables: ['retention_policy', 'legal_holds'],
  eventTypes: ['RetentionPolicySet', 'LegalHoldPlaced', 'LegalHoldLifted'],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as RetentionPolicyEvent | LegalHoldEvent;
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'RetentionPolicySet':
        for (const [kind, days] of Object.entries(event.data.policy)) {
          await tx.query(
            `INSERT INTO retention_policy (kind, days, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (kind) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at`,
            [kind, days, at]);
        }
        return;
      case 'LegalHoldPlaced': {
        const d = event.data;
        await tx.query(
          `INSERT INTO legal_holds (target, target_id, hold_id, owner_id, reason, placed_by, placed_at, placed_seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (target, target_id) DO UPDATE SET hold_id = excluded.hold_id, owner_id = excluded.owner_id, reason = excluded.reason,
             placed_by = excluded.placed_by, placed_at = excluded.placed_at, placed_seq = excluded.placed_seq`,
          [d.target, d.targetId, d.holdId, d.ownerId, d.reason, recorded.metadata.actorId, at, recorded.position.toString()]);
        return;
      }
      case 'LegalHoldLifted':
        await tx.query('DELETE FROM legal_holds WHERE target = $1 AND target_id = $2 AND hold_id = $3',
          [event.data.target, event.data.targetId, event.data.holdId]);
        return;
    }
  },
};
