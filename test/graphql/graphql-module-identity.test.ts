// Under vitest, src/ must load the same copy of graphql as yoga and Pothos (see the alias in
// vitest.config.ts), or `instanceof GraphQLError` fails and client errors get masked.
import { createRequire } from 'node:module';
import { GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fails, REGISTER, startTestApp, type TestApp } from './support.ts';

describe('graphql module identity under vitest', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ provider: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('src and graphql-yoga share one copy of graphql', () => {
    const yogasGraphql = createRequire(createRequire(import.meta.url).resolve('graphql-yoga'))('graphql') as { GraphQLError: unknown };
    expect(GraphQLError).toBe(yogasGraphql.GraphQLError);
  });

  it('client errors keep their codes without any workaround', async () => {
    const error = await fails(t.yoga, REGISTER, { email: 'not-an-email', password: 'long-enough', displayName: 'X' });
    expect(error.code).toBe('BAD_USER_INPUT');
  });
});
