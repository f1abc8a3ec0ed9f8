import type { Decider, DomainEvent } from '../decider.ts';

/** The first account to register becomes admin: one stream, claimed once, arbitrated by the event store. */
export type FirstAdminEvent = DomainEvent<'FirstAdminClaimed', { userId: string }>;
export type FirstAdminCommand = { type: 'ClaimFirstAdmin'; userId: string };
export interface FirstAdminState { adminId: string | null }

export const FIRST_ADMIN_STREAM = 'system-first_admin';

export const firstAdminDecider: Decider<FirstAdminCommand, FirstAdminState, FirstAdminEvent> = {
  initialState: () => ({ adminId: null }),
  evolve: (_state, event) => ({ adminId: event.data.userId }),
  /** Emits nothing when someone already holds it: the caller then registers a member. */
  decide: (command, state) => (state.adminId === null ? [{ type: 'FirstAdminClaimed', data: { userId: command.userId } }] : []),
  schemaVersions: { FirstAdminClaimed: 1 },
};
