import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../../src/infra/ids.ts';
import type { EventMetadata, NewEvent } from '../../src/infra/event-store/port.ts';

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
