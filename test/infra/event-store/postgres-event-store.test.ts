import { describe } from 'vitest';
import { PostgresEventStore } from '../../../src/infra/event-store/postgres-event-store.ts';
import { eventStoreContract, LOAD_APPENDS_PER_WRITER } from '../../contract/event-store.contract.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';

const skip = postgresSkipReason('PostgreSQL event store contract');
describe.skipIf(skip)('postgres', () => {
  eventStoreContract('postgres', async () => {
    const database = await createTestDatabase();
    const store = await PostgresEventStore.open({ connectionString: database.url });
    return { store, dispose: async () => { await store.close(); await database.drop(); } };
  }, { writers: 8, appendsPerWriter: LOAD_APPENDS_PER_WRITER });
});
