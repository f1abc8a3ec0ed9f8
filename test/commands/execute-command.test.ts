import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { executeCommand, MAX_CONFLICT_RETRIES } from '../../src/commands/execute-command.ts';
import { DomainError, type Decider, type DomainEvent } from '../../src/domain/decider.ts';
import { createUpcasterRegistry } from '../../src/domain/upcasting.ts';
import { WrongExpectedRevisionError } from '../../src/infra/event-store/errors.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { UpcastingEventStore } from '../../src/infra/event-store/upcasting-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';

type CounterEvent = DomainEvent<'Incremented', { by: number }> | DomainEvent<'Renamed', { name: string }>;
type CounterCommand = { type: 'Increment'; by: number; max?: number } | { type: 'Rename'; name: string };

const counter: Decider<CounterCommand, { total: number; name: string }, CounterEvent> = {
  initialState: () => ({ total: 0, name: 'counter' }),
  evolve: (state, event) => (event.type === 'Incremented' ? { ...state, total: state.total + event.data.by } : { ...state, name: event.data.name }),
  decide(command, state) {
    if (command.type === 'Rename') return [{ type: 'Renamed', data: { name: command.name } }];
    if (command.max !== undefined && state.total + command.by > command.max) throw new DomainError('CONFLICT', 'over the maximum');
    return [{ type: 'Incremented', data: { by: command.by } }];
  },
  schemaVersions: { Incremented: 1, Renamed: 2 },
};
// Renamed v1 called the field "title".
const upcasting = createUpcasterRegistry(counter.schemaVersions, [
  { type: 'Renamed', fromVersion: 1, upcast: (data) => ({ name: (data as { title: string }).title }) },
]);

const context = () => ({
  actorId: 'tester', correlationId: uuidv7(), causationId: null, requestId: 'req-1', now: () => new Date('2026-01-02T03:04:05Z'), newId: uuidv7,
});

describe('executeCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-cmd-'));
  const store: EventStore = new UpcastingEventStore(new SqliteEventStore(join(dir, 'events.sqlite')), (e) => upcasting.upcast(e));
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends the decided events with metadata and schema versions, and returns the new state', async () => {
    const result = await executeCommand(store, counter, 'counter-a', { type: 'Increment', by: 2 }, context());
    expect(result.state.total).toBe(2);
    const [event] = await store.readStream('counter-a');
    expect(event).toMatchObject({ type: 'Incremented', schemaVersion: 1, position: result.position,
      metadata: { actorId: 'tester', requestId: 'req-1', occurredAt: '2026-01-02T03:04:05.000Z' } });
  });

  it('retries on a revision conflict: concurrent commands on one stream all land, decided on fresh state', async () => {
    const results = await Promise.all(Array.from({ length: MAX_CONFLICT_RETRIES }, () =>
      executeCommand(store, counter, 'counter-b', { type: 'Increment', by: 1 }, context())));
    expect(results.every((r) => r.position !== null)).toBe(true);
    expect((await store.readStream('counter-b')).map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('re-decides after a conflict, so an invariant holds under concurrency', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () =>
      executeCommand(store, counter, 'counter-c', { type: 'Increment', by: 1, max: 2 }, context())));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(DomainError);
  });

  it('gives up with the conflict after too many retries', async () => {
    let appends = 0;
    const alwaysConflicting: EventStore = {
      ...store,
      readStream: (s, o) => store.readStream(s, o),
      append: async () => { appends++; throw new WrongExpectedRevisionError('counter-d', 'no_stream', 0n); },
    };
    await expect(executeCommand(alwaysConflicting, counter, 'counter-d', { type: 'Increment', by: 1 }, context()))
      .rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(appends).toBe(MAX_CONFLICT_RETRIES + 1);
  });

  it('folds events stored under an older schema version upcast by the store', async () => {
    await store.append('counter-e', [{ id: uuidv7(), type: 'Renamed', schemaVersion: 1, data: { title: 'old name' },
      metadata: { actorId: null, correlationId: 'c', causationId: null, requestId: null, occurredAt: new Date().toISOString() } }]);
    const result = await executeCommand(store, counter, 'counter-e', { type: 'Increment', by: 1 }, context());
    expect(result.state).toEqual({ total: 1, name: 'old name' });
  });
});
