import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// For `npm run mutate` (stryker.config.mjs): only the tests that cover the mutated code. The
// kill-during-appends test is left out: its child processes are beyond Stryker's mutant switching.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/domain/**/*.test.ts', 'test/infra/event-store/*.test.ts'],
    exclude: ['test/infra/event-store/kill-during-appends.test.ts'],
    // The contract's load test runs once per mutant it covers: 8 x 100 appends instead of 8 x 2,000.
    env: { EVENT_STORE_CONTRACT_APPENDS_PER_WRITER: '100' },
  },
});
