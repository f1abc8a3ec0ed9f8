import type { SignupPolicyEvent } from '../domain/account/signup-policy.ts';
import type { Projection } from './projection.ts';

/** The sign-up policy and the invites (src/domain/account/signup-policy.ts); no personal data, no codes. */
export const signupProjection: Projection = {
  name: 'signup',
  tables: ['signup_policy', 'invites'],
  eventTypes: ['SignupPolicySet', 'InviteCreated', 'InviteRevoked', 'InviteRedeemed'],
  async handle(recorded, tx) {
    const event = { type: recorded.type, data: recorded.data } as SignupPolicyEvent;
    const at = recorded.metadata.occurredAt;
    switch (event.type) {
      case 'SignupPolicySet':
        await tx.query(
          `INSERT INTO signup_policy (id, mode, updated_by, updated_at) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
          [event.data.mode, recorded.metadata.actorId, at]);
        return;
      case 'InviteCreated':
        await tx.query(
          `INSERT INTO invites (invite_id, created_by, created_at, created_seq, expires_at, max_uses) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (invite_id) DO NOTHING`,
          [event.data.inviteId, recorded.metadata.actorId, at, recorded.position.toString(), event.data.expiresAt, event.data.maxUses]);
        return;
      case 'InviteRevoked':
        await tx.query('UPDATE invites SET revoked_at = $2 WHERE invite_id = $1 AND revoked_at IS NULL', [event.data.inviteId, at]);
        return;
      case 'InviteRedeemed':
        // Counted once even if re-applied: only an event later than the last one counted adds a use.
        await tx.query('UPDATE invites SET uses = uses + 1, redeemed_seq = $2 WHERE invite_id = $1 AND redeemed_seq < $2',
          [event.data.inviteId, recorded.position.toString()]);
        return;
    }
  },
};
