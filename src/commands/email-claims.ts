import { emailClaimDecider, emailClaimStream } from '../domain/user/email-claim.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CommandContext } from './context.ts';
import { executeCommand, loadAggregate } from './execute-command.ts';

/** Claims and releases of email addresses (unique across users), by their keyed hash. */
export function createEmailClaims(store: EventStore, emailKey: (email: string) => string) {
  const stream = (email: string) => emailClaimStream(emailKey(email));
  const claims = {
    claim: (email: string, userId: string, context: CommandContext) =>
      executeCommand(store, emailClaimDecider, stream(email), { type: 'ClaimEmail', userId }, context),
    release: (email: string, userId: string, context: CommandContext) =>
      executeCommand(store, emailClaimDecider, stream(email), { type: 'ReleaseEmail', userId }, context),
    async ownerOf(email: string): Promise<string | null> {
      return (await loadAggregate(store, emailClaimDecider, stream(email))).state.ownerId;
    },
    /** Runs `work` holding a claim on the address; releases the claim again if `work` fails. */
    async holding<T>(email: string, userId: string, context: CommandContext, work: () => Promise<T>): Promise<T> {
      await claims.claim(email, userId, context);
      try {
        return await work();
      } catch (error) {
        await claims.release(email, userId, context).catch(() => { /* the claim stays; its owner never registered */ });
        throw error;
      }
    },
  };
  return claims;
}

export type EmailClaims = ReturnType<typeof createEmailClaims>;
