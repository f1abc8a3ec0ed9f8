import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * Who may register: one installation-wide setting, decided by admins, in one stream together with the
 * invite codes (so that counting an invite's uses is arbitrated by the stream's expected revision).
 * The code itself never enters the log, only its sha256. The first account of an empty installation
 * (the first admin, src/domain/account/first-admin.ts) may always register.
 */
export type SignupMode = 'open' | 'invite_only' | 'closed';

export const SIGNUP_MODES: readonly SignupMode[] = ['open', 'invite_only', 'closed'];
/** Today's behaviour, kept as the default: anyone may register until an admin says otherwise (README). */
export const DEFAULT_SIGNUP_MODE: SignupMode = 'open';

export type SignupPolicyEvent =
  | DomainEvent<'SignupPolicySet', { mode: SignupMode }>
  | DomainEvent<'InviteCreated', { inviteId: string; codeHash: string; expiresAt: string | null; maxUses: number | null }>
  | DomainEvent<'InviteRevoked', { inviteId: string }>
  | DomainEvent<'InviteRedeemed', { inviteId: string; userId: string }>;

export type SignupPolicyCommand =
  | { type: 'SetSignupPolicy'; mode: SignupMode }
  /** `now` is the caller's clock: an expiry must lie in the future. */
  | { type: 'CreateInvite'; inviteId: string; codeHash: string; expiresAt: string | null; maxUses: number | null; now: string }
  | { type: 'RevokeInvite'; inviteId: string }
  /** `codeHash` is the sha256 of the code presented. */
  | { type: 'RedeemInvite'; inviteId: string; codeHash: string; userId: string; now: string };

export interface InviteState {
  codeHash: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  revoked: boolean;
}

export interface SignupPolicyState {
  mode: SignupMode;
  invites: ReadonlyMap<string, InviteState>;
}

export const SIGNUP_POLICY_STREAM = 'system-signup_policy';
export const MAX_INVITE_USES = 10_000;
/** Invites that can still be used (not revoked, not used up; expiry aside): a bound on the stream's state. */
export const MAX_USABLE_INVITES = 1_000;

const usable = (invite: InviteState) => !invite.revoked && (invite.maxUses === null || invite.uses < invite.maxUses);

export const signupPolicyDecider: Decider<SignupPolicyCommand, SignupPolicyState, SignupPolicyEvent> = {
  initialState: () => ({ mode: DEFAULT_SIGNUP_MODE, invites: new Map() }),

  evolve(state, event) {
    switch (event.type) {
      case 'SignupPolicySet':
        return { ...state, mode: event.data.mode };
      case 'InviteCreated': {
        const invites = new Map(state.invites);
        invites.set(event.data.inviteId, { codeHash: event.data.codeHash, expiresAt: event.data.expiresAt, maxUses: event.data.maxUses, uses: 0, revoked: false });
        return { ...state, invites };
      }
      case 'InviteRevoked':
      case 'InviteRedeemed': {
        const invite = state.invites.get(event.data.inviteId);
        if (!invite) return state;
        const invites = new Map(state.invites);
        invites.set(event.data.inviteId, event.type === 'InviteRevoked' ? { ...invite, revoked: true } : { ...invite, uses: invite.uses + 1 });
        return { ...state, invites };
      }
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'SetSignupPolicy':
        if (!SIGNUP_MODES.includes(command.mode)) throw new DomainError('BAD_USER_INPUT', `Unknown sign-up mode: ${String(command.mode)}`);
        return command.mode === state.mode ? [] : [{ type: 'SignupPolicySet', data: { mode: command.mode } }];
      case 'CreateInvite': {
        if (state.invites.has(command.inviteId)) throw new DomainError('CONFLICT', 'Invite already exists');
        if (!/^[0-9a-f]{64}$/.test(command.codeHash)) throw new DomainError('BAD_USER_INPUT', 'Code hash must be a sha256 hex digest');
        const now = Date.parse(command.now);
        if (Number.isNaN(now)) throw new DomainError('BAD_USER_INPUT', 'The time must be an ISO date');
        if (command.expiresAt !== null) {
          const expires = Date.parse(command.expiresAt);
          if (Number.isNaN(expires)) throw new DomainError('BAD_USER_INPUT', 'Expiry must be an ISO date');
          if (expires <= now) throw new DomainError('BAD_USER_INPUT', 'Expiry must be in the future');
        }
        if (command.maxUses !== null && (!Number.isSafeInteger(command.maxUses) || command.maxUses < 1 || command.maxUses > MAX_INVITE_USES)) {
          throw new DomainError('BAD_USER_INPUT', `Uses must be a whole number from 1 to ${MAX_INVITE_USES}`);
        }
        if ([...state.invites.values()].filter(usable).length >= MAX_USABLE_INVITES) {
          throw new DomainError('CONFLICT', `At most ${MAX_USABLE_INVITES} usable invites at a time: revoke some first`);
        }
        return [{
          type: 'InviteCreated',
          data: { inviteId: command.inviteId, codeHash: command.codeHash, expiresAt: command.expiresAt === null ? null : new Date(command.expiresAt).toISOString(), maxUses: command.maxUses },
        }];
      }
      case 'RevokeInvite': {
        const invite = state.invites.get(command.inviteId);
        if (!invite) throw new DomainError('NOT_FOUND', 'Invite not found');
        return invite.revoked ? [] : [{ type: 'InviteRevoked', data: { inviteId: command.inviteId } }];
      }
      case 'RedeemInvite': {
        const now = Date.parse(command.now);
        if (Number.isNaN(now)) throw new DomainError('BAD_USER_INPUT', 'The time must be an ISO date');
        const invite = state.invites.get(command.inviteId);
        // One answer for every way a code can fail: unknown, wrong secret, revoked, expired, used up.
        if (!invite || invite.codeHash !== command.codeHash || !usable(invite)
          || (invite.expiresAt !== null && now >= Date.parse(invite.expiresAt))) {
          throw new DomainError('INVITE_INVALID', 'The invite code is invalid, expired or used up');
        }
        return [{ type: 'InviteRedeemed', data: { inviteId: command.inviteId, userId: command.userId } }];
      }
    }
  },

  schemaVersions: { SignupPolicySet: 1, InviteCreated: 1, InviteRevoked: 1, InviteRedeemed: 1 },
};

/** Refuses a registration the policy does not admit (invite-only registrations redeem an invite instead). */
export function refuseUnlessOpen(state: SignupPolicyState): void {
  if (state.mode === 'closed') throw new DomainError('SIGNUP_CLOSED', 'Sign-up is closed on this installation: ask an admin');
  if (state.mode === 'invite_only') throw new DomainError('INVITE_INVALID', 'Sign-up needs an invite code on this installation');
}
