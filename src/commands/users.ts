import { emailClaimDecider, emailClaimStream } from '../domain/user/email-claim.ts';
import { normalizeEmail, userDecider, userStream, type UserState } from '../domain/user/user.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, loadAggregate, type CommandResult } from './execute-command.ts';

export interface UserCommandsDeps {
  store: EventStore;
  /** Keyed hash of a normalised email: names its claim stream without putting the address in the log's stream names. */
  emailKey(email: string): string;
}

export interface RegisterUserInput { userId: string; email: string; displayName: string }

type UserResult = CommandResult<UserState, unknown>;

export function createUserCommands({ store, emailKey }: UserCommandsDeps) {
  const claim = (email: string, userId: string, context: CommandContext) =>
    executeCommand(store, emailClaimDecider, emailClaimStream(emailKey(email)), { type: 'ClaimEmail', userId }, context);
  const release = (email: string, userId: string, context: CommandContext) =>
    executeCommand(store, emailClaimDecider, emailClaimStream(emailKey(email)), { type: 'ReleaseEmail', userId }, context);

  return {
    /** Claims the address first, so two people can never register the same one; releases it if registration fails. */
    async register(input: RegisterUserInput, context: CommandContext): Promise<UserResult> {
      const email = normalizeEmail(input.email);
      await claim(email, input.userId, context);
      try {
        return await executeCommand(store, userDecider, userStream(input.userId),
          { type: 'RegisterUser', userId: input.userId, email, displayName: input.displayName }, context);
      } catch (error) {
        await release(email, input.userId, context).catch(() => { /* the claim stays; its owner never registered */ });
        throw error;
      }
    },

    async changeEmail(input: { userId: string; email: string }, context: CommandContext): Promise<UserResult> {
      const email = normalizeEmail(input.email);
      const { state } = await loadAggregate(store, userDecider, userStream(input.userId));
      if (state.status !== 'active' || state.email === email) {
        // Let the decider give the precise refusal (or no-op) without claiming anything.
        return executeCommand(store, userDecider, userStream(input.userId), { type: 'ChangeUserEmail', ...input }, context);
      }
      await claim(email, input.userId, context);
      let result: UserResult;
      try {
        result = await executeCommand(store, userDecider, userStream(input.userId), { type: 'ChangeUserEmail', ...input }, context);
      } catch (error) {
        await release(email, input.userId, context).catch(() => {});
        throw error;
      }
      if (state.email) await release(state.email, input.userId, context);
      return result;
    },

    deactivate(input: { userId: string; reason?: string | null }, context: CommandContext): Promise<UserResult> {
      return executeCommand(store, userDecider, userStream(input.userId), { type: 'DeactivateUser', ...input }, context);
    },
  };
}

export type UserCommands = ReturnType<typeof createUserCommands>;
