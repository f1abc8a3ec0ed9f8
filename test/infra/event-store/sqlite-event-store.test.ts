import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { eventStoreContract, LOAD_APPENDS_PER_WRITER } from '../../contract/event-store.contract.ts';
import { newEvent } from '../../support/events.ts';

eventStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-es-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  return { store, dispose: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
}, { writers: 8, appendsPerWriter: LOAD_APPENDS_PER_WRITER });

describe('SqliteEventStore lifecycle', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-es-life-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

  it('creates missing folders, writes in WAL mode, and says what it is', async () => {
    const path = join(fresh(), 'a', 'b', 'events.sqlite');
    const store = new SqliteEventStore(path);
    expect(store.kind).toBe('sqlite');
    await store.append('s', [newEvent()]);
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
  });

  it('commits appends still queued when it closes, then refuses new ones; closing twice is harmless', async () => {
    const path = join(fresh(), 'events.sqlite');
    const store = new SqliteEventStore(path);
    const queued = [store.append('s', [newEvent('A')]), store.append('s', [newEvent('B')])];
    await store.close();
    expect((await Promise.all(queued)).map((r) => r.nextRevision)).toEqual([0n, 1n]);
    await expect(store.append('s', [newEvent('C')])).rejects.toThrow('Event store is closed');
    await expect(store.readStream('s')).rejects.toThrow(); // the database itself is closed
    await store.close();
    const reopened = new SqliteEventStore(path);
    expect((await reopened.readStream('s')).map((e) => e.type)).toEqual(['A', 'B']);
    await reopened.close();
  });

  it('works in memory', async () => {
    const store = new SqliteEventStore(':memory:');
    await store.append('s', [newEvent()]);
    expect(await store.readStream('s')).toHaveLength(1);
    await store.close();
  });
});
