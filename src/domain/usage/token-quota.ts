import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * A person's daily token quota, set by an admin: replies stop being started for them once the tokens
 * their replies used today (UTC) reach it. `tokensPerDay: null` lifts the quota.
 */
export const MAX_TOKENS_PER_DAY = 1_000_000_000;

export type TokenQuotaEvent = DomainEvent<'UserTokenQuotaSet', { userId: string; tokensPerDay: number | null }>;

export type TokenQuotaCommand = { type: 'SetTokenQuota'; userId: string; tokensPerDay: number | null };

export interface TokenQuotaState {
  tokensPerDay: number | null;
}

export const tokenQuotaStream = (userId: string) => `token-quota-${userId}`;

export const tokenQuotaDecider: Decider<TokenQuotaCommand, TokenQuotaState, TokenQuotaEvent> = {
  initialState: () => ({ tokensPerDay: null }),

  evolve: (_state, event) => ({ tokensPerDay: event.data.tokensPerDay }),

  decide(command, state) {
    const { tokensPerDay } = command;
    if (typeof command.userId !== 'string' || command.userId.length === 0) throw new DomainError('BAD_USER_INPUT', 'User id is required');
    if (tokensPerDay !== null && (!Number.isSafeInteger(tokensPerDay) || tokensPerDay < 0 || tokensPerDay > MAX_TOKENS_PER_DAY)) {
      throw new DomainError('BAD_USER_INPUT', `tokensPerDay must be a whole number from 0 to ${MAX_TOKENS_PER_DAY}, or null for no quota`);
    }
    if (tokensPerDay === state.tokensPerDay) return [];
    return [{ type: 'UserTokenQuotaSet', data: { userId: command.userId, tokensPerDay } }];
  },

  schemaVersions: { UserTokenQuotaSet: 1 },
};
