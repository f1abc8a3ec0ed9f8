import { describe, expect, it } from 'vitest';
import { sanitizeEvent } from '../../src/projections/sanitize-event.ts';
import type { RecordedEvent } from '../../src/infra/event-store/port.ts';

const event = (data: unknown): RecordedEvent => ({
  id: 'e1', stream: 's-1', revision: 0n, position: 1n, type: 'Tested', schemaVersion: 1, data,
  metadata: { actorId: 'a', correlationId: 'c', causationId: null, requestId: null, occurredAt: '2026-01-01T00:00:00.000Z' },
});

describe('sanitizeEvent', () => {
  it('returns the very same event when nothing needs changing', () => {
    const clean = event({ title: 'fine 👋', nested: { list: ['a', 1, null, true] } });
    expect(sanitizeEvent(clean)).toBe(clean);
  });

  it('replaces NUL and lone surrogates in every string, nested, in arrays, in keys and in metadata, without touching the original', () => {
    const dirty = event({ title: 'a\u0000b', nested: { list: ['ok', 'x\uD800'], 'k\u0000ey': 1 }, n: 5 });
    dirty.metadata.actorId = 'act\u0000or';
    const clean = sanitizeEvent(dirty);
    expect(clean.data).toEqual({ title: 'a\uFFFDb', nested: { list: ['ok', 'x\uFFFD'], 'k\uFFFDey': 1 }, n: 5 });
    expect(clean.metadata.actorId).toBe('act\uFFFDor');
    expect((dirty.data as { title: string }).title).toBe('a\u0000b');
  });
});
