import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../src/infra/ids.ts';
import type { EventMetadata, NewEvent, RecordedEvent, Subscription } from '../../src/infra/event-store/port.ts';

export function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    actorId: 'tester',
    correlationId: randomUUID(),
    causationId: null,
    requestId: null,
    occurredAt: new Date().toISOString(),
    ...overrides,
  };
}

export function newEvent(type = 'Tested', data: Record<string, unknown> = {}, id: string = uuidv7()): NewEvent {
  return { id, type, schemaVersion: 1, data, metadata: metadata() };
}

const TAKE_WAIT_MS = 30_000;

/** Takes `count` events from a subscription (failing after TAKE_WAIT_MS rather than hanging, or when it ends first). */
export async function take(subscription: Subscription, count: number): Promise<RecordedEvent[]> {
  const taken: RecordedEvent[] = [];
  if (count === 0) return taken;
  const iterator = subscription[Symbol.asyncIterator]();
  const deadline = Date.now() + TAKE_WAIT_MS;
  while (taken.length < count) {
    const next = await Promise.race([iterator.next(), new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())))]);
    if (next === 'late') throw new Error(`only ${taken.length} of ${count} events arrived`);
    if (next.done) throw new Error(`the subscription ended after ${taken.length} of ${count} events`);
    taken.push(next.value);
  }
  return taken;
}
