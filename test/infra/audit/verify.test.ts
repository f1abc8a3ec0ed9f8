import { describe } from 'vitest';
import { postgresSkipReason } from '../../support/postgres.ts';
import { postgresHarness, sqliteHarness } from './chain-harness.ts';
import { tamperContract } from './tamper.contract.ts';

tamperContract('SQLite', sqliteHarness);

const skip = postgresSkipReason('tamper evidence on PostgreSQL');
describe.skipIf(skip)('postgres', () => {
  tamperContract('PostgreSQL', postgresHarness);
});
