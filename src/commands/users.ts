import { refuseErasureUnderHold, type LegalHoldState } from '../domain/retention/retention.ts';
import { normalizeDisplayName, normalizeEmail, userDecider, userStream, type UserState } from '../domain/user/user.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import type { EmailClaims } from './email-claims.ts';
import { executeCommand, loadAggregate, type CommandResult } from './execute-command.ts';

export interface UserCommandsDeps {
  store: EventStore;
  emailClaims: EmailClaims;
  /** Deletes a person's data key (crypto-shredding). */
  eraseKey(subjectId: string): Promise<unknown>;
  /** Waits (bounded) until the read models hold nothing of the erasure recorded at `position`. */
  scrubbed?(position: bigint): Promise<unknown>;
  /** The legal holds covering a person (retention): while one is in place, erasure is refused with LEGAL_HOLD. */
  holdsCovering?(userId: string): Promise<readonly LegalHoldState[]>;
}

export interface RegisterUserInput { userId: string; email: string; displayName: string }

type UserResult = CommandResult<UserState, unknown>;

export function createUserCommands({ store, emailClaims, eraseKey, scrubbed, holdsCovering }: UserCommandsDeps) {
  const run = (command: Parameters<typeof userDecider.decide>[0], context: CommandContext) =>
    executeCommand(store, userDecider, userStream(command.userId), command, context);

  return {
    /** Claims the address first, so two people can never register the same one. */
    register(input: RegisterUserInput, context: CommandContext): Promise<UserResult> {
      const email = normalizeEmail(input.email);
      normalizeDisplayName(input.displayName); // refused before the address is claimed
      return emailClaims.holding(email, input.userId, context, () =>
        run({ type: 'RegisterUser', userId: input.userId, email, displayName: input.displayName }, context));
    },

    async changeEmail(input: { userId: string; email: string }, context: CommandContext): Promise<UserResult> {
      const email = normalizeEmail(input.email);
      const { state } = await loadAggregate(store, userDecider, userStream(input.userId));
      if (state.status !== 'active' || state.email === email) {
        // Let the decider give the precise refusal (or no-op) without claiming anything.
        return run({ type: 'ChangeUserEmail', ...input }, context);
      }
      const result = await emailClaims.holding(email, input.userId, context, () => run({ type: 'ChangeUserEmail', ...input }, context));
      if (state.email) await emailClaims.release(state.email, input.userId, context);
      return result;
    },

    /**
     * Records the erasure (projections drop the person's rows), frees the address, deletes the key,
     * then waits for the read models to be scrubbed of the deleted rows (docs/operations.md).
     * Safe to repeat: a retry after a crash deletes the key even though the event is already there
     * (the scrub of an erasure left unscrubbed by a crash runs on its own, see ErasureScrubber).
     */
    async eraseData(input: { userId: string }, context: CommandContext): Promise<UserResult> {
      if (holdsCovering) refuseErasureUnderHold(await holdsCovering(input.userId));
      const { state } = await loadAggregate(store, userDecider, userStream(input.userId));
      const result = await run({ type: 'EraseUserData', ...input }, context);
      if (state.email) await emailClaims.release(state.email, input.userId, context);
      await eraseKey(input.userId);
      if (result.position !== null) await scrubbed?.(result.position);
      return result;
    },

    deactivate(input: { userId: string; reason?: string | null }, context: CommandContext): Promise<UserResult> {
      return run({ type: 'DeactivateUser', ...input }, context);
    },
  };
}

export type UserCommands = ReturnType<typeof createUserCommands>;
