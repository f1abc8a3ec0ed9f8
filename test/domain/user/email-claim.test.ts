import { describe, it } from 'vitest';
import { emailClaimDecider } from '../../../src/domain/user/email-claim.ts';
import { deciderSpec } from '../../support/decider-spec.ts';

const spec = deciderSpec(emailClaimDecider);

describe('EmailClaim decider', () => {
  it('claims a free address', () =>
    spec.given([]).when({ type: 'ClaimEmail', userId: 'u1' }).then([{ type: 'EmailClaimed', data: { userId: 'u1' } }]));

  it("re-claiming one's own address does nothing", () =>
    spec.given([{ type: 'EmailClaimed', data: { userId: 'u1' } }]).when({ type: 'ClaimEmail', userId: 'u1' }).then([]));

  it('refuses an address another user holds', () =>
    spec.given([{ type: 'EmailClaimed', data: { userId: 'u1' } }]).when({ type: 'ClaimEmail', userId: 'u2' })
      .thenFails('CONFLICT', /already in use/));

  it('a released address can be claimed by someone else', () =>
    spec.given([{ type: 'EmailClaimed', data: { userId: 'u1' } }, { type: 'EmailReleased', data: { userId: 'u1' } }])
      .when({ type: 'ClaimEmail', userId: 'u2' }).then([{ type: 'EmailClaimed', data: { userId: 'u2' } }]));

  it('only the owner releases', () => {
    spec.given([{ type: 'EmailClaimed', data: { userId: 'u1' } }]).when({ type: 'ReleaseEmail', userId: 'u2' }).then([]);
    spec.given([{ type: 'EmailClaimed', data: { userId: 'u1' } }]).when({ type: 'ReleaseEmail', userId: 'u1' })
      .then([{ type: 'EmailReleased', data: { userId: 'u1' } }]);
  });
});
