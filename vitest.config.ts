import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // One copy of graphql: yoga and Pothos load its CommonJS build, so our imports must too, or
  // `instanceof GraphQLError` fails across the two copies (plain Node resolves one copy already).
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Bounds, not expectations: on a loaded 2-core machine starting an app (PGlite, migrations) in a
    // beforeAll has been seen to take 55 s.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // expect.poll's own default (1 s) is shorter than a UI refresh or a projection's catch-up takes
    // on a busy 2-core machine; a poll that succeeds returns at once, so a long bound costs nothing.
    expect: { poll: { timeout: 30_000 } },
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
