import { tokenQuotaDecider, tokenQuotaStream } from '../domain/usage/token-quota.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { tokenQuotaOf, tokensUsedOn } from '../projections/usage-queries.ts';
import type { CommandContext } from './context.ts';
import { QuotaExceededError } from './errors.ts';
import { executeCommand } from './execute-command.ts';

/** The UTC day of a time, as the usage read model counts days. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

export function createUsageCommands(deps: { store: EventStore; readDb: SqlExecutor }) {
  const { store, readDb } = deps;
  return {
    /** Admins: sets (or, with null, lifts) a person's daily token quota. */
    setTokenQuota(input: { userId: string; tokensPerDay: number | null }, context: CommandContext) {
      return executeCommand(store, tokenQuotaDecider, tokenQuotaStream(input.userId), { type: 'SetTokenQuota', ...input }, context);
    },

    /**
     * Throws QUOTA_EXCEEDED when the person has a quota and the tokens their replies used today (UTC)
     * have reached it. Called before a reply is asked for; a reply under way may take them past it.
     */
    async checkQuota(userId: string, now: Date): Promise<void> {
      const quota = await tokenQuotaOf(readDb, userId);
      if (quota === null) return;
      const used = await tokensUsedOn(readDb, userId, utcDay(now));
      if (used >= quota) throw new QuotaExceededError(quota, used);
    },
  };
}

export type UsageCommands = ReturnType<typeof createUsageCommands>;
