import { describe, it } from 'vitest';
import { tokenQuotaDecider } from '../../../src/domain/usage/token-quota.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

describe('Token quota decider', () => {
  const spec = deciderSpec(tokenQuotaDecider);
  const set = (tokensPerDay: number | null) => ({ type: 'UserTokenQuotaSet' as const, data: { userId: 'u1', tokensPerDay } });

  it('sets, changes and lifts a quota; setting the same one again records nothing', () => {
    spec.given([]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay: 1000 }).then([set(1000)]);
    spec.given([set(1000)]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay: 0 }).then([set(0)]);
    spec.given([set(1000)]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay: null }).then([set(null)]);
    spec.given([set(1000)]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay: 1000 }).then([]);
    spec.given([]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay: null }).then([]);
  });

  it('refuses negative, fractional and huge quotas', () => {
    for (const tokensPerDay of [-1, 1.5, 1_000_000_001, Number.NaN]) {
      spec.given([]).when({ type: 'SetTokenQuota', userId: 'u1', tokensPerDay }).thenFails('BAD_USER_INPUT');
    }
  });
});
