import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { eventStoreContract, LOAD_APPENDS_PER_WRITER } from '../../contract/event-store.contract.ts';

eventStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-es-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  return { store, dispose: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
}, { writers: 8, appendsPerWriter: LOAD_APPENDS_PER_WRITER });
