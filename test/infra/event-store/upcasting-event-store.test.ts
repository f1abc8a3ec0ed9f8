import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUpcasterRegistry } from '../../../src/domain/upcasting.ts';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { EventUpcastError, UpcastingEventStore } from '../../../src/infra/event-store/upcasting-event-store.ts';
import { newEvent } from '../../support/events.ts';

const registry = createUpcasterRegistry({ Renamed: 2 }, [
  { type: 'Renamed', fromVersion: 1, upcast: (d) => ({ title: (d as { name: string }).name }) },
]);

describe('UpcastingEventStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-upcast-'));
  const raw = new SqliteEventStore(join(dir, 'events.sqlite'));
  const store = new UpcastingEventStore(raw, (e) => registry.upcast(e));
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('upcasts on readStream, readAll and subscriptions, and stores what was appended', async () => {
    await store.append('thing-1', [{ ...newEvent('Renamed', { name: 'old' }), schemaVersion: 1 }, { ...newEvent('Renamed', { title: 'new' }), schemaVersion: 2 }]);
    const expected = [{ schemaVersion: 2, data: { title: 'old' } }, { schemaVersion: 2, data: { title: 'new' } }];
    expect(await store.readStream('thing-1')).toMatchObject(expected);
    expect(await store.readAll()).toMatchObject(expected);
    expect((await raw.readStream('thing-1'))[0]).toMatchObject({ schemaVersion: 1, data: { name: 'old' } });
    const subscription = store.subscribeToAll();
    const seen = [];
    for await (const event of subscription) {
      seen.push(event);
      if (seen.length === 2) break;
    }
    await subscription.close();
    expect(seen).toMatchObject(expected);
  });

  it('fails with the stored event when a version cannot be upcast, on every read path', async () => {
    await store.append('thing-2', [{ ...newEvent('Renamed', { title: 'future' }), schemaVersion: 3 }]);
    await expect(store.readStream('thing-2')).rejects.toBeInstanceOf(EventUpcastError);
    const error = await store.readAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventUpcastError);
    expect((error as EventUpcastError).event).toMatchObject({ stream: 'thing-2', schemaVersion: 3 });
    expect((error as Error).message).toMatch(/newer than this version/);
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    await expect(iterator.next()).rejects.toBeInstanceOf(EventUpcastError);
    await subscription.close();
  });
});
