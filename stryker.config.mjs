// Mutation testing (docs/mutation-testing.md): `npm run mutate`. Not part of `npm test`.
// Without DATABASE_URL the PostgreSQL adapter has no test to run against, so it is mutated only when
// DATABASE_URL is set (its contract suite then runs on PostgreSQL too).
import process from 'node:process';

const postgres = Boolean(process.env.DATABASE_URL);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/domain/**/*.ts',
    'src/infra/event-store/*.ts',
    ...(postgres ? [] : ['!src/infra/event-store/postgres-event-store.ts']),
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
