import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * One stream per email address (named by a keyed hash, never the address itself) makes addresses
 * unique across users: the event store's expected revision arbitrates concurrent claims.
 */
export type EmailClaimEvent =
  | DomainEvent<'EmailClaimed', { userId: string }>
  | DomainEvent<'EmailReleased', { userId: string }>;

export type EmailClaimCommand =
  | { type: 'ClaimEmail'; userId: string }
  | { type: 'ReleaseEmail'; userId: string };

export interface EmailClaimState {
  ownerId: string | null;
}

export const emailClaimStream = (emailKey: string) => `user_email-${emailKey}`;

export const emailClaimDecider: Decider<EmailClaimCommand, EmailClaimState, EmailClaimEvent> = {
  initialState: () => ({ ownerId: null }),

  evolve(_state, event) {
    return { ownerId: event.type === 'EmailClaimed' ? event.data.userId : null };
  },

  decide(command, state) {
    switch (command.type) {
      case 'ClaimEmail':
        if (state.ownerId === command.userId) return [];
        if (state.ownerId !== null) throw new DomainError('CONFLICT', 'Email is already in use');
        return [{ type: 'EmailClaimed', data: { userId: command.userId } }];
      case 'ReleaseEmail':
        if (state.ownerId !== command.userId) return [];
        return [{ type: 'EmailReleased', data: { userId: command.userId } }];
    }
  },

  schemaVersions: { EmailClaimed: 1, EmailReleased: 1 },
};
