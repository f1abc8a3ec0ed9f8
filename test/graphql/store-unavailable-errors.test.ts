import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { exposedError, SERVICE_UNAVAILABLE_MESSAGE } from '../../src/graphql/errors.ts';
import { StoreUnavailableError } from '../../src/infra/store-unavailable.ts';

describe('exposedError for a database outage', () => {
  const outage = new StoreUnavailableError('event store', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }));

  it('answers SERVICE_UNAVAILABLE with a fixed message that names neither the store nor its address', () => {
    const exposed = exposedError(new GraphQLError(outage.message, { originalError: outage }));
    expect(exposed?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(exposed?.message).toBe(SERVICE_UNAVAILABLE_MESSAGE);
    expect(exposed?.message).not.toMatch(/10\.0\.0\.5|ECONNREFUSED|event store/);
  });

  it('also when another layer wrapped it as the cause of its own error', () => {
    const wrapped = new Error('could not load the conversation', { cause: outage });
    expect(exposedError(new GraphQLError(wrapped.message, { originalError: wrapped }))?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('leaves a raw driver error masked (the adapters translate connection failures; anything else is unexpected)', () => {
    const raw = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    expect(exposedError(new GraphQLError(raw.message, { originalError: raw }))).toBeUndefined();
  });
});
