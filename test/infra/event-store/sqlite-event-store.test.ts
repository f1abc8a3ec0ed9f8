import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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

describe('SqliteEventStore shared pages of readAll', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-es-pages-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every reader of a page the same events, in an array of its own, and never a stale end of the log', async () => {
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    try {
      await store.append('a-1', [newEvent('A'), newEvent('B'), newEvent('A')]);
      const ids = (events: { id: string }[]) => events.map((e) => e.id);
      const full = await store.readAll({ maxCount: 2 });
      const again = await store.readAll({ maxCount: 2 });
      expect(ids(again)).toEqual(ids(full));
      again.pop();
      expect(await store.readAll({ maxCount: 2 })).toHaveLength(2);
      // The end of the log, a short page, grows with the next append.
      expect(await store.readAll({ after: 2n, maxCount: 2 })).toHaveLength(1);
      await store.append('b-1', [newEvent('B')]);
      expect(await store.readAll({ after: 2n, maxCount: 2 })).toHaveLength(2);
      // Pages with another start, size, filter or prefix are pages of their own.
      expect((await store.readAll({ after: 1n, maxCount: 2 })).map((e) => e.position)).toEqual([2n, 3n]);
      expect((await store.readAll({ maxCount: 3 })).map((e) => e.position)).toEqual([1n, 2n, 3n]);
      expect((await store.readAll({ maxCount: 2, filter: { eventTypes: ['B'] } })).map((e) => e.position)).toEqual([2n, 4n]);
      expect((await store.readAll({ maxCount: 1, filter: { streamPrefix: 'b-' } })).map((e) => e.position)).toEqual([4n]);
    } finally {
      await store.close();
    }
  });

  it('forgets its pages when another connection writes to the file (an edit must be seen, by audit verification above all)', async () => {
    const file = join(dir, 'edited.sqlite');
    const store = new SqliteEventStore(file);
    const other = new DatabaseSync(file);
    try {
      await store.append('a-1', [newEvent('A'), newEvent('A'), newEvent('A')]);
      expect((await store.readAll({ maxCount: 2 })).map((e) => e.type)).toEqual(['A', 'A']);
      other.prepare("UPDATE events SET type = 'Edited' WHERE position = 2").run();
      expect((await store.readAll({ maxCount: 2 })).map((e) => e.type)).toEqual(['A', 'Edited']);
      // The store's own appends do not move data_version, and do not need to: full pages stay full.
      await store.append('a-2', [newEvent('B')]);
      expect((await store.readAll({ maxCount: 2 })).map((e) => e.type)).toEqual(['A', 'Edited']);
    } finally {
      other.close();
      await store.close();
    }
  }, 30_000);
});
