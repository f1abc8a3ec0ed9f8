import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PostgresEventStore } from '../../../src/infra/event-store/postgres-event-store.ts';
import type { EventStore } from '../../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';

const CHILD = new URL('../../support/append-until-killed.ts', import.meta.url).pathname;

/** Runs the appender, kills it with SIGKILL after `acks` acknowledgements, and returns the last acknowledged revision per stream. */
async function appendThenKill(kind: string, target: string, acks: number): Promise<Map<string, bigint>> {
  const child = spawn(process.execPath, [CHILD, kind, target], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acknowledged = new Map<string, bigint>();
  let count = 0;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, stream, revision] = line.split(' ');
    if (word !== 'ack') continue;
    acknowledged.set(stream!, BigInt(revision!));
    if (++count === acks) child.kill('SIGKILL');
  }
  await exited;
  expect(child.signalCode).toBe('SIGKILL');
  return acknowledged;
}

async function expectEverythingAcknowledgedAndNothingPartial(store: EventStore, acknowledged: Map<string, bigint>) {
  expect(acknowledged.size).toBe(4);
  for (const [stream, revision] of acknowledged) {
    const events = await store.readStream(stream);
    expect(BigInt(events.length - 1) >= revision).toBe(true);
    expect(events.length % 3).toBe(0);
    events.forEach((event, i) => expect(event.data).toMatchObject({ batch: Math.floor(i / 3), part: i % 3 }));
  }
}

describe('kill -9 during appends', () => {
  it('sqlite keeps every acknowledged append and no partial one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-kill-'));
    try {
      const file = join(dir, 'events.sqlite');
      const acknowledged = await appendThenKill('sqlite', file, 400);
      const store = new SqliteEventStore(file);
      try {
        await expectEverythingAcknowledgedAndNothingPartial(store, acknowledged);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const skip = postgresSkipReason('PostgreSQL kill -9 test');
  it.skipIf(skip)('postgres keeps every acknowledged append and no partial one', async () => {
    const database = await createTestDatabase();
    try {
      const acknowledged = await appendThenKill('postgres', database.url, 400);
      const store = await PostgresEventStore.open({ connectionString: database.url });
      try {
        await expectEverythingAcknowledgedAndNothingPartial(store, acknowledged);
      } finally {
        await store.close();
      }
    } finally {
      await database.drop();
    }
  });
});
