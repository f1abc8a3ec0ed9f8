// The erasure scrubber's loop on a real SQLite log and PGlite read database: erasures recorded
// together are scrubbed together, the checkpoint follows them, and an idle scrubber does not read
// the log again from its checkpoint on every poll.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReadAllOptions, RecordedEvent } from '../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { migrate } from '../../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { ERASURE_EVENT, ErasureScrubber } from '../../src/projections/erasure-scrub.ts';
import { ReactorCheckpoints } from '../../src/projections/processor/checkpoints.ts';
import { newEvent } from '../support/events.ts';
import { testLogger } from './runner.contract.ts';

const WAIT = { timeout: 30_000, interval: 20 };

describe('erasure scrubber on a SQLite log', () => {
  let dir: string;
  let store: SqliteEventStore;
  let db: PgliteReadDb;
  let scrubber: ErasureScrubber | undefined;
  const batches: string[][] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'evident-scrub-loop-'));
    store = new SqliteEventStore(join(dir, 'events.db'));
    db = await PgliteReadDb.open();
    const migrations = join(dir, 'migrations');
    await mkdir(migrations);
    await copyFile(new URL('../../migrations/0005_reactor_checkpoints.sql', import.meta.url).pathname, join(migrations, '0005_reactor_checkpoints.sql'));
    await migrate(db, migrations);
    batches.length = 0;
  });

  afterEach(async () => {
    await scrubber?.stop();
    scrubber = undefined;
    await store.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function startScrubber(): { scrubs: () => number } {
    const scrub = vi.spyOn(db, 'scrub');
    scrubber = new ErasureScrubber({
      store, readDb: db, tables: ['reactor_checkpoints'], logger: testLogger().logger,
      projectionsReached: async () => true,
      beforeScrub: async (events: readonly RecordedEvent[]) => { batches.push(events.map((e) => e.stream)); },
    });
    scrubber.start();
    return { scrubs: () => scrub.mock.calls.length };
  }

  async function fill(count: number): Promise<void> {
    for (let i = 0; i < count; i += 500) {
      await store.append(`conversation-${i}`, Array.from({ length: Math.min(500, count - i) }, () => newEvent('MessageSent', { text: 'x'.repeat(200) })));
    }
  }

  it('scrubs erasures appended together in one go, and its checkpoint is the last of them', async () => {
    await fill(1_000);
    const { scrubs } = startScrubber();
    const erased = await store.append('user-a', [newEvent(ERASURE_EVENT), newEvent(ERASURE_EVENT), newEvent(ERASURE_EVENT)]);
    expect(await scrubber!.waitForScrub(erased.position, 30_000)).toBe(true);
    expect(batches).toEqual([['user-a', 'user-a', 'user-a']]);
    expect(scrubs()).toBe(1);
    expect(await new ReactorCheckpoints(db).read('erasure-scrub')).toBe(erased.position);
    // A later erasure on its own is a second scrub.
    const later = await store.append('user-b', [newEvent(ERASURE_EVENT)]);
    expect(await scrubber!.waitForScrub(later.position, 30_000)).toBe(true);
    expect(batches).toEqual([['user-a', 'user-a', 'user-a'], ['user-b']]);
    expect(scrubs()).toBe(2);
  });

  it('an idle scrubber reads on from the head it has seen, not from its checkpoint again', async () => {
    const erased = await store.append('user-a', [newEvent(ERASURE_EVENT)]);
    await fill(3_000);
    const head = await store.headPosition();
    const reads: Array<ReadAllOptions | undefined> = [];
    const readAll = store.readAll.bind(store);
    vi.spyOn(store, 'readAll').mockImplementation(async (options) => { reads.push(options); return readAll(options); });
    startScrubber();
    expect(await scrubber!.waitForScrub(erased.position, 30_000)).toBe(true);
    // Polls go on while it is idle; once one has seen the head, every later one starts there.
    await expect.poll(() => reads.findIndex((r) => (r?.after ?? 0n) >= head), WAIT).toBeGreaterThanOrEqual(0);
    const seen = reads.findIndex((r) => (r?.after ?? 0n) >= head);
    await expect.poll(() => reads.length, WAIT).toBeGreaterThan(seen + 3);
    expect(reads.slice(seen).map((r) => (r?.after ?? 0n) >= head)).not.toContain(false);
    expect(reads[0]?.after).toBe(0n);
  });

  it('stops promptly while idle, and a new scrubber resumes from the saved checkpoint', async () => {
    startScrubber();
    const erased = await store.append('user-a', [newEvent(ERASURE_EVENT)]);
    expect(await scrubber!.waitForScrub(erased.position, 30_000)).toBe(true);
    await scrubber!.stop();
    scrubber = undefined;
    vi.restoreAllMocks();
    const reads: Array<ReadAllOptions | undefined> = [];
    const readAll = store.readAll.bind(store);
    vi.spyOn(store, 'readAll').mockImplementation(async (options) => { reads.push(options); return readAll(options); });
    startScrubber();
    await expect.poll(() => reads.length, WAIT).toBeGreaterThan(0);
    expect(reads[0]?.after).toBe(erased.position);
    expect(batches).toEqual([['user-a']]);
  });
});
