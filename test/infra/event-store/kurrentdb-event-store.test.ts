// KurrentDB cannot run on every machine: this suite runs against KURRENTDB_URL, or a container when a
// Docker engine is reachable, and otherwise skips with one line (test/support/kurrentdb.ts).
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KurrentDbEventStore } from '../../../src/infra/event-store/kurrentdb-event-store.ts';
import { StoreUnavailableError } from '../../../src/infra/store-unavailable.ts';
import { eventStoreContract, LOAD_APPENDS_PER_WRITER } from '../../contract/event-store.contract.ts';
import { kurrentDbTarget, startKurrentDb } from '../../support/kurrentdb.ts';

const target = await kurrentDbTarget('KurrentDB event store contract');

describe.skipIf(target.kind === 'none')('kurrentdb', () => {
  eventStoreContract('kurrentdb', async () => {
    const server = await startKurrentDb(target);
    const store = await KurrentDbEventStore.open({ connectionString: server.url });
    return { store, dispose: async () => { await store.close(); await server.stop(); } };
  }, { writers: 8, appendsPerWriter: LOAD_APPENDS_PER_WRITER, eventIdsUniqueAcrossStreams: false });
});

describe('KurrentDbEventStore without a server', () => {
  it('fails to open with StoreUnavailableError when nothing listens at the URL', async () => {
    const port = await freePort();
    const error = await KurrentDbEventStore.open({ connectionString: `kurrentdb://127.0.0.1:${port}?tls=false` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ store: 'event store', code: 'SERVICE_UNAVAILABLE' });
  });
});

/** A loopback port nothing listens on (just released by a server of our own). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
