import { sessionDecider, sessionStream } from '../domain/account/session.ts';
import { SIGNUP_POLICY_STREAM, signupPolicyDecider, type SignupMode } from '../domain/account/signup-policy.ts';
import { userDecider, userStream, type UserRole } from '../domain/user/user.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { newSecret } from '../infra/one-time-secrets.ts';
import type { CommandContext } from './context.ts';
import { executeCommand } from './execute-command.ts';

/** How long an admin-issued password reset token stays valid. */
export const PASSWORD_RESET_TTL_MS = 60 * 60 * 1000;

export interface AccountAdminDeps {
  store: EventStore;
  /** Active admins other than `userId`, as the users read model counts them. */
  otherActiveAdmins(userId: string): Promise<number>;
}

/**
 * What admins do to accounts and to who may register. Who may call these is the API's decision
 * (admin scope); the deciders decide what may happen to the account.
 */
export function createAccountAdminCommands({ store, otherActiveAdmins }: AccountAdminDeps) {
  const user = (command: Parameters<typeof userDecider.decide>[0], context: CommandContext) =>
    executeCommand(store, userDecider, userStream(command.userId), command, context);
  const policy = (command: Parameters<typeof signupPolicyDecider.decide>[0], context: CommandContext) =>
    executeCommand(store, signupPolicyDecider, SIGNUP_POLICY_STREAM, command, context);

  return {
    /**
     * The count comes from the read model: two admins demoting each other at the very same moment
     * could both pass (a known limit, docs/accounts.md); one admin can never demote the last admin.
     */
    async changeRole(input: { userId: string; role: UserRole }, context: CommandContext) {
      return user({ type: 'ChangeUserRole', userId: input.userId, role: input.role, otherActiveAdmins: await otherActiveAdmins(input.userId) }, context);
    },

    reactivate(input: { userId: string }, context: CommandContext) {
      return user({ type: 'ReactivateUser', userId: input.userId }, context);
    },

    /** The token is returned once, to be handed to the person; the log keeps its sha256 only. */
    async issuePasswordReset(input: { userId: string }, context: CommandContext) {
      const resetId = context.newId();
      const { secret, hash } = newSecret('reset', input.userId);
      const expiresAt = new Date(context.now().getTime() + PASSWORD_RESET_TTL_MS).toISOString();
      const result = await user({ type: 'IssuePasswordReset', userId: input.userId, resetId, tokenHash: hash, expiresAt }, context);
      return { ...result, token: secret, resetId, expiresAt };
    },

    /** Ends a session of `userId`; NOT_FOUND when the session is not theirs. */
    revokeSession(input: { userId: string; sessionId: string }, context: CommandContext) {
      return executeCommand(store, sessionDecider, sessionStream(input.sessionId),
        { type: 'RevokeSession', sessionId: input.sessionId, userId: input.userId }, context);
    },

    setSignupPolicy(input: { mode: SignupMode }, context: CommandContext) {
      return policy({ type: 'SetSignupPolicy', mode: input.mode }, context);
    },

    /** The code is returned once; the log keeps its sha256 only. */
    async createInvite(input: { expiresAt: string | null; maxUses: number | null }, context: CommandContext) {
      const inviteId = context.newId();
      const { secret, hash } = newSecret('invite', inviteId);
      const result = await policy({
        type: 'CreateInvite', inviteId, codeHash: hash, expiresAt: input.expiresAt, maxUses: input.maxUses, now: context.now().toISOString(),
      }, context);
      return { ...result, code: secret, inviteId };
    },

    revokeInvite(input: { inviteId: string }, context: CommandContext) {
      return policy({ type: 'RevokeInvite', inviteId: input.inviteId }, context);
    },
  };
}

export type AccountAdminCommands = ReturnType<typeof createAccountAdminCommands>;
