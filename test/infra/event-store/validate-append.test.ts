import { describe, expect, it } from 'vitest';
import { checkExpected, idempotentResult } from '../../../src/infra/event-store/append-rules.ts';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from '../../../src/infra/event-store/errors.ts';
import { likePrefix, toRecordedEvent } from '../../../src/infra/event-store/row-mapping.ts';
import { checkReadCount, validateAppend } from '../../../src/infra/event-store/validate-append.ts';
import { MAX_EVENTS_PER_APPEND } from '../../../src/infra/event-store/port.ts';
import { newEvent } from '../../support/events.ts';
import { refusal } from '../../support/refusal.ts';

// The pure rules every adapter shares, checked directly (the contract suite checks them through
// both stores); fast enough to run once per mutant in `npm run mutate`.

const invalid = (run: () => unknown) => refusal(run, InvalidEventError);

describe('validateAppend', () => {
  it('serialises data and metadata once, filling absent metadata with null in a fixed order', () => {
    const event = { ...newEvent('Thing.happened:v-1_x', { n: 1 }), schemaVersion: 3, metadata: { correlationId: 'c', occurredAt: '2026-01-02T03:04:05.000Z' } };
    expect(validateAppend('s', [event as never], 'any')).toEqual([{
      id: event.id, type: 'Thing.happened:v-1_x', schemaVersion: 3, data: '{"n":1}',
      metadata: '{"actorId":null,"correlationId":"c","causationId":null,"requestId":null,"occurredAt":"2026-01-02T03:04:05.000Z"}',
    }]);
    const full = newEvent();
    const [serialized] = validateAppend('s', [{ ...full, metadata: { ...full.metadata, actorId: 'a', causationId: 'b', requestId: 'r' } }], 'any');
    expect(JSON.parse(serialized!.metadata)).toMatchObject({ actorId: 'a', causationId: 'b', requestId: 'r' });
  });

  it.each(['any', 'no_stream', 'stream_exists', 0n, 7n] as const)('accepts expected revision %s', (expected) => {
    expect(validateAppend('s', [newEvent()], expected)).toHaveLength(1);
  });

  it.each([-1n, 0, '0', null, undefined, 'latest'])('refuses expected revision %s, naming it', (expected) => {
    expect(invalid(() => validateAppend('s', [newEvent()], expected as never)).message).toContain(`Invalid expected revision: ${String(expected)}`);
  });

  it('refuses bad stream names with the limit in the message', () => {
    expect(invalid(() => validateAppend('', [newEvent()], 'any')).message).toMatch(/1 to 256/);
    expect(invalid(() => validateAppend(42 as never, [newEvent()], 'any')).message).toMatch(/1 to 256/);
    expect(invalid(() => validateAppend('$x', [newEvent()], 'any')).message).toMatch(/reserved/);
    expect(validateAppend('a$', [newEvent()], 'any')).toHaveLength(1);
    expect(validateAppend('x'.repeat(256), [newEvent()], 'any')).toHaveLength(1);
    expect(invalid(() => validateAppend('x'.repeat(257), [newEvent()], 'any')).message).toMatch(/1 to 256/);
  });

  it(`needs a non-empty array of at most ${MAX_EVENTS_PER_APPEND} events`, () => {
    expect(invalid(() => validateAppend('s', [], 'any')).message).toMatch(/at least one/);
    expect(invalid(() => validateAppend('s', 'events' as never, 'any')).message).toMatch(/at least one/);
    expect(validateAppend('s', Array.from({ length: MAX_EVENTS_PER_APPEND }, () => newEvent()), 'any')).toHaveLength(MAX_EVENTS_PER_APPEND);
    expect(invalid(() => validateAppend('s', Array.from({ length: MAX_EVENTS_PER_APPEND + 1 }, () => newEvent()), 'any')).message)
      .toMatch(new RegExp(`at most ${MAX_EVENTS_PER_APPEND}`));
  });

  it('names the event and the stream in every complaint', () => {
    const good = newEvent();
    const cases: Array<[unknown, RegExp]> = [
      [null, /lowercase UUID/],
      [{ ...good, id: good.id.toUpperCase() }, /lowercase UUID/],
      [{ ...good, id: `x${good.id}` }, /lowercase UUID/],
      [{ ...good, id: `${good.id}x` }, /lowercase UUID/],
      [{ ...good, type: '1Thing' }, /invalid event type/],
      [{ ...good, type: 'Thing!' }, /invalid event type/],
      [{ ...good, type: `T${'x'.repeat(128)}` }, /invalid event type/],
      [{ ...good, type: 7 }, /invalid event type/],
      [{ ...good, type: ['Thing'] }, /invalid event type/], // would pass the pattern once turned into a string
      [{ ...good, schemaVersion: 0 }, /schemaVersion must be a positive integer/],
      [{ ...good, schemaVersion: 1.5 }, /schemaVersion/],
      [{ ...good, data: null }, /data must be a JSON object/],
      [{ ...good, data: [1] }, /data must be a JSON object/],
      [{ ...good, data: 'text' }, /data must be a JSON object/],
      [{ ...good, metadata: null }, /metadata needs/],
      [{ ...good, metadata: { ...good.metadata, correlationId: 1 } }, /metadata needs/],
      [{ ...good, metadata: { ...good.metadata, occurredAt: 1 } }, /metadata needs/],
      [{ ...good, metadata: { ...good.metadata, occurredAt: 'yesterday' } }, /metadata needs/],
      [{ ...good, data: { n: 1n } }, /not serialisable as JSON \(.+\)/],
      [{ ...good, data: { s: 'a\u0000' } }, /NUL/],
      [{ ...good, metadata: { ...good.metadata, correlationId: 'c\u0000' } }, /NUL/],
    ];
    for (const [event, message] of cases) {
      const error = invalid(() => validateAppend('the-stream', [newEvent(), event as never], 'any'));
      expect(error.message, String(message)).toMatch(message);
      expect(error.message).toMatch(/^event 1 of stream "the-stream": /);
    }
  });

  it('refuses an id twice in one append, naming it', () => {
    const event = newEvent();
    expect(invalid(() => validateAppend('s', [event, newEvent(), event], 'any')).message)
      .toBe(`event 2 of stream "s": id ${event.id} appears twice in one append`);
  });

  it('counts the bytes of data and metadata together, in UTF-8', () => {
    const event = newEvent('Sized', { blob: '' });
    const [empty] = validateAppend('s', [event], 'any');
    const overhead = Buffer.byteLength(empty!.data) + Buffer.byteLength(empty!.metadata);
    const limit = 1024 * 1024;
    // 'é' is two bytes: an odd remainder is topped up with one ASCII character.
    const fill = limit - overhead;
    const blob = 'é'.repeat(Math.floor(fill / 2)) + (fill % 2 ? 'x' : '');
    expect(validateAppend('s', [{ ...event, data: { blob } }], 'any')).toHaveLength(1);
    expect(invalid(() => validateAppend('s', [{ ...event, data: { blob: `${blob}x` } }], 'any')).message)
      .toContain(`${limit + 1} bytes exceeds the limit of ${limit} bytes per event`);
  });
});

describe('checkReadCount', () => {
  it('uses the fallback when no count is given, and accepts any positive integer', () => {
    expect(checkReadCount(undefined, 1000)).toBe(1000);
    expect(checkReadCount(1, 1000)).toBe(1);
    expect(checkReadCount(5000, 1000)).toBe(5000);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s', (count) => {
    expect(invalid(() => checkReadCount(count, 1000)).message).toBe('maxCount must be a positive integer');
  });
});

describe('checkExpected', () => {
  it('any passes whatever the stream holds', () => {
    expect(() => checkExpected('s', 'any', undefined)).not.toThrow();
    expect(() => checkExpected('s', 'any', 3n)).not.toThrow();
  });

  it.each([
    ['no_stream', undefined, true], ['no_stream', 0n, false],
    ['stream_exists', 0n, true], ['stream_exists', undefined, false],
    [2n, 2n, true], [2n, 1n, false], [2n, 3n, false], [0n, undefined, false],
  ] as const)('expected %s against current %s: passes = %s', (expected, current, passes) => {
    let error: unknown;
    try {
      checkExpected('s', expected, current);
    } catch (e) {
      error = e;
    }
    if (passes) {
      expect(error).toBeUndefined();
    } else {
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ stream: 's', expected, actual: current ?? 'no_stream', code: 'CONFLICT', name: 'WrongExpectedRevisionError' });
      expect((error as Error).message).toBe(`Stream "s" expected revision ${String(expected)} but is at ${String(current ?? 'no_stream')}`);
    }
  });
});

describe('idempotentResult', () => {
  const at = (stream: string, revision: bigint, position: bigint) => ({ stream, revision, position });

  it('returns the original result for the same ids in the same stream and order', () => {
    expect(idempotentResult('s', [at('s', 4n, 10n), at('s', 5n, 11n), at('s', 6n, 15n)])).toEqual({ nextRevision: 6n, position: 15n });
    expect(idempotentResult('s', [at('s', 0n, 1n)])).toEqual({ nextRevision: 0n, position: 1n });
  });

  it.each([
    ['another stream', [at('t', 0n, 1n)]],
    ['a partial overlap', [at('s', 0n, 1n), undefined]],
    ['a new id first', [undefined, at('s', 0n, 1n)]],
    ['another order', [at('s', 1n, 2n), at('s', 0n, 1n)]],
    ['a gap', [at('s', 0n, 1n), at('s', 2n, 3n)]],
    ['a second stream later on', [at('s', 0n, 1n), at('t', 1n, 2n)]],
  ])('refuses %s with DuplicateEventIdError', (_label, found) => {
    let error: unknown;
    try {
      idempotentResult('s', found);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DuplicateEventIdError);
    expect(error).toMatchObject({ code: 'CONFLICT', name: 'DuplicateEventIdError' });
    expect((error as Error).message).toContain('(stream "s")');
  });
});

describe('row mapping', () => {
  it('escapes LIKE wildcards and the escape character, so a prefix matches literally', () => {
    expect(likePrefix('a_b%c\\d')).toBe('a\\_b\\%c\\\\d%');
    expect(likePrefix('plain')).toBe('plain%');
  });

  it('reads rows with text (SQLite) or parsed (PostgreSQL) JSON and numeric columns of any width', () => {
    const metadata = { actorId: null, correlationId: 'c', causationId: null, requestId: null, occurredAt: '2026-01-01T00:00:00.000Z' };
    const expected = { id: 'i', stream: 's', revision: 2n, position: 9n, type: 'T', schemaVersion: 3, data: { n: 1 }, metadata };
    expect(toRecordedEvent({ position: 9, id: 'i', stream: 's', revision: 2, type: 'T', schema_version: 3, data: '{"n":1}', metadata: JSON.stringify(metadata) }))
      .toEqual(expected);
    expect(toRecordedEvent({ position: '9', id: 'i', stream: 's', revision: '2', type: 'T', schema_version: 3, data: { n: 1 }, metadata }))
      .toEqual(expected);
  });
});

describe('event-store errors', () => {
  it('carry a stable code and name', () => {
    expect(new InvalidEventError('bad')).toMatchObject({ code: 'BAD_USER_INPUT', name: 'InvalidEventError', message: 'bad' });
    expect(new DuplicateEventIdError('dup')).toMatchObject({ code: 'CONFLICT', name: 'DuplicateEventIdError', message: 'dup' });
  });
});
