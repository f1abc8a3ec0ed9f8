// The KurrentDB adapter's translations, without a server: the contract suite beside this file runs
// them against a real one when KURRENTDB_URL is set or Docker is reachable.
import {
  DeadlineExceededError, ErrorType, MaxAppendSizeExceededError, StreamNotFoundError, TimeoutError,
  UnavailableError, UnknownError, WrongExpectedVersionError, type AllStreamResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from '../../../src/infra/event-store/errors.ts';
import {
  clientFilterAccepts, eventTypesRegex, fromPositionFor, isRetryable, isStreamNotFound, isSystemEvent, mapAppendError,
  mapReadError, positionToBigint, satisfies, serverFilter, toEventData, toRecordedEvent, toStreamState,
} from '../../../src/infra/event-store/kurrentdb-mapping.ts';
import type { ExpectedRevision } from '../../../src/infra/event-store/port.ts';
import { validateAppend } from '../../../src/infra/event-store/validate-append.ts';
import { StoreUnavailableError } from '../../../src/infra/store-unavailable.ts';
import { newEvent } from '../../support/events.ts';

const wrongVersion = (expected: ExpectedRevision, current: bigint | 'no_stream') =>
  new WrongExpectedVersionError(undefined, { streamName: 's', expected: toStreamState(expected), current });

describe('expected revision → stream state', () => {
  it.each([
    ['any', 'any'], ['no_stream', 'no_stream'], ['stream_exists', 'stream_exists'], [0n, 0n], [41n, 41n],
  ] as const)('%s → %s', (expected, state) => {
    expect(toStreamState(expected)).toBe(state);
  });
});

describe('positions', () => {
  it('uses the commit position of a gRPC-appended event (commit === prepare)', () => {
    expect(positionToBigint({ commit: 1234n, prepare: 1234n })).toBe(1234n);
    expect(positionToBigint({ commit: 2n ** 62n, prepare: 2n ** 62n })).toBe(2n ** 62n);
  });

  it('refuses positions of explicit transactions, which share a commit position', () => {
    expect(() => positionToBigint({ commit: 500n, prepare: 300n })).toThrow(/explicit transaction/);
  });

  it('refuses the start of $all as an event position', () => {
    expect(() => positionToBigint({ commit: 0n, prepare: 0n })).toThrow(/not after the start/);
  });

  it('starts reads at the beginning for no position or 0n, else at the position itself', () => {
    expect(fromPositionFor(undefined)).toBe('start');
    expect(fromPositionFor(0n)).toBe('start');
    expect(fromPositionFor(-5n)).toBe('start');
    expect(fromPositionFor(77n)).toEqual({ commit: 77n, prepare: 77n });
  });
});

describe('filters', () => {
  it('sends a stream prefix to the server as a prefix filter on stream names', () => {
    expect(serverFilter({ streamPrefix: 'conversation-', eventTypes: ['A'] }))
      .toMatchObject({ filterOn: 'streamName', prefixes: ['conversation-'] });
  });

  it('sends event types alone as an exact-match regex on event types', () => {
    const filter = serverFilter({ eventTypes: ['UserMessageSent', 'a.b-c'] });
    expect(filter).toMatchObject({ filterOn: 'eventType', regex: '^(?:UserMessageSent|a\\.b\\-c)$' });
    const regex = new RegExp((filter as { regex: string }).regex);
    expect(regex.test('UserMessageSent')).toBe(true);
    expect(regex.test('UserMessageSentAgain')).toBe(false);
    expect(regex.test('aXb-c')).toBe(false);
    expect(regex.test('a.b-c')).toBe(true);
  });

  it('excludes system events on the server when nothing else is filtered', () => {
    for (const filter of [undefined, {}, { eventTypes: [] }]) {
      const server = serverFilter(filter) as { filterOn: string; regex: string };
      expect(server.filterOn).toBe('eventType');
      expect(new RegExp(server.regex).test('$metadata')).toBe(false);
      expect(new RegExp(server.regex).test('UserRegistered')).toBe(true);
    }
  });

  it('escapes every regex metacharacter in event types', () => {
    const types = ['a+b', 'x|y', '(z)', 'q?', 'w*', '[v]', '{u}', 't^s$', 'r\\p', 'o/n'];
    const regex = new RegExp(eventTypesRegex(types));
    for (const type of types) expect(regex.test(type)).toBe(true);
    expect(regex.test('ab')).toBe(false);
    expect(regex.test('x')).toBe(false);
  });

  it('checks on the client what the server could not: types beside a prefix, and system events', () => {
    const both = { streamPrefix: 'c-', eventTypes: ['Kept'] };
    expect(clientFilterAccepts(both, { stream: 'c-1', type: 'Kept' })).toBe(true);
    expect(clientFilterAccepts(both, { stream: 'c-1', type: 'Dropped' })).toBe(false);
    expect(clientFilterAccepts(both, { stream: 'd-1', type: 'Kept' })).toBe(false);
    expect(clientFilterAccepts(undefined, { stream: '$ce-c', type: 'Kept' })).toBe(false);
    expect(clientFilterAccepts(undefined, { stream: 'c-1', type: '$>' })).toBe(false);
    expect(clientFilterAccepts({ eventTypes: [] }, { stream: 'c-1', type: 'Any' })).toBe(true);
  });

  it('calls events of $-streams and $-types system events', () => {
    expect(isSystemEvent('$all', 'x')).toBe(true);
    expect(isSystemEvent('user-1', '$metadata')).toBe(true);
    expect(isSystemEvent('user-1', 'UserRegistered')).toBe(false);
  });
});

describe('events', () => {
  const [serialized] = validateAppend('s', [newEvent('ThingHappened', { n: 1, text: 'héllo' })], 'any');

  it('writes data as JSON and the schema version into the metadata', () => {
    const data = toEventData({ ...serialized!, schemaVersion: 3 });
    expect(data).toMatchObject({ id: serialized!.id, contentType: 'application/json', type: 'ThingHappened', data: { n: 1, text: 'héllo' } });
    expect(data.metadata).toMatchObject({ ...JSON.parse(serialized!.metadata), schemaVersion: 3 });
  });

  const read = (overrides: Record<string, unknown> = {}, resolved: Partial<AllStreamResolvedEvent> = {}): AllStreamResolvedEvent => {
    const written = toEventData({ ...serialized!, schemaVersion: 2 });
    return {
      event: {
        streamId: 'conversation-1', id: written.id, isJson: true, revision: 4n, type: written.type, created: new Date(),
        data: written.data, metadata: written.metadata, position: { commit: 900n, prepare: 900n }, ...overrides,
      } as AllStreamResolvedEvent['event'],
      ...resolved,
    };
  };

  it('reads back what it wrote, with the port envelope', () => {
    const event = toRecordedEvent(read());
    expect(event).toEqual({
      id: serialized!.id, stream: 'conversation-1', revision: 4n, position: 900n, type: 'ThingHappened', schemaVersion: 2,
      data: { n: 1, text: 'héllo' }, metadata: JSON.parse(serialized!.metadata),
    });
    expect(Object.keys(event!.metadata)).toEqual(['actorId', 'correlationId', 'causationId', 'requestId', 'occurredAt']);
  });

  it('reads metadata that arrives as bytes', () => {
    const written = toEventData({ ...serialized!, schemaVersion: 2 });
    const bytes = new Uint8Array(Buffer.from(JSON.stringify(written.metadata)));
    expect(toRecordedEvent(read({ metadata: bytes }))?.schemaVersion).toBe(2);
  });

  it('leaves out system events, links, events without position and events not written by this adapter', () => {
    expect(toRecordedEvent(read({ streamId: '$ce-conversation' }))).toBeUndefined();
    expect(toRecordedEvent(read({ type: '$metadata' }))).toBeUndefined();
    expect(toRecordedEvent(read({}, { link: read().event as never }))).toBeUndefined();
    expect(toRecordedEvent({})).toBeUndefined();
    expect(toRecordedEvent(read({ position: undefined }))).toBeUndefined();
    expect(toRecordedEvent(read({ metadata: undefined }))).toBeUndefined();
    expect(toRecordedEvent(read({ metadata: { correlationId: 'c', occurredAt: 'now' } }))).toBeUndefined();
    expect(toRecordedEvent(read({ data: 'not an object', isJson: false }))).toBeUndefined();
    expect(toRecordedEvent(read({ data: [1, 2] }))).toBeUndefined();
  });
});

describe('errors', () => {
  it('maps a wrong expected version to the port conflict, with the actual revision', () => {
    const error = mapAppendError(wrongVersion(0n, 3n), 'conversation-1', 0n) as WrongExpectedRevisionError;
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ stream: 'conversation-1', expected: 0n, actual: 3n, code: 'CONFLICT' });
    expect(mapAppendError(wrongVersion('stream_exists', 'no_stream'), 's', 'stream_exists')).toMatchObject({ actual: 'no_stream' });
    expect(mapAppendError(wrongVersion('no_stream', 1n), 's', 'no_stream')).toMatchObject({ actual: 1n });
    expect(mapAppendError(wrongVersion(5n, -1n), 's', 5n)).toMatchObject({ actual: 'no_stream' });
  });

  it('maps a refusal whose actual state meets the expectation to a duplicate id (corrupted idempotency)', () => {
    expect(mapAppendError(wrongVersion('any', 1n), 's', 'any')).toBeInstanceOf(DuplicateEventIdError);
    expect(mapAppendError(wrongVersion('stream_exists', 2n), 's', 'stream_exists')).toBeInstanceOf(DuplicateEventIdError);
    expect(mapAppendError(wrongVersion(2n, 2n), 's', 2n)).toBeInstanceOf(DuplicateEventIdError);
    expect(mapAppendError(wrongVersion('no_stream', 'no_stream'), 's', 'no_stream')).toBeInstanceOf(DuplicateEventIdError);
  });

  it('decides when an actual state meets the expectation', () => {
    expect(satisfies('any', 'no_stream')).toBe(true);
    expect(satisfies('no_stream', 0n)).toBe(false);
    expect(satisfies('stream_exists', 'no_stream')).toBe(false);
    expect(satisfies(3n, 3n)).toBe(true);
    expect(satisfies(3n, 4n)).toBe(false);
  });

  it('maps an append above the server limit to invalid input', () => {
    const error = mapAppendError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576), 's', 'any');
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).message).toMatch(/MaxAppendSize/);
  });

  it.each([
    ['unavailable', new UnavailableError(undefined, '14 UNAVAILABLE: No connection established')],
    ['deadline exceeded', new DeadlineExceededError()],
    ['timeout', new TimeoutError()],
  ])('maps %s to StoreUnavailableError on reads and appends', (_label, error) => {
    const read = mapReadError(error);
    expect(read).toBeInstanceOf(StoreUnavailableError);
    expect(read).toMatchObject({ store: 'event store', code: 'SERVICE_UNAVAILABLE' });
    expect((read as Error).message).toMatch(/^The event store is unavailable: KurrentDB: the server did not answer \((unavailable|deadline-exceeded|timeout)\)/);
    expect((read as Error).message).not.toMatch(/Error: \w+Error/);
    expect(mapAppendError(error, 's', 'any')).toBeInstanceOf(StoreUnavailableError);
  });

  it('maps a raw gRPC UNAVAILABLE or DEADLINE_EXCEEDED (as the first append on a dead connection throws) to StoreUnavailableError', () => {
    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'), { code: 14 });
    expect(mapAppendError(unavailable, 's', 'any')).toBeInstanceOf(StoreUnavailableError);
    expect((mapReadError(unavailable) as Error).message).toMatch(/did not answer \(unavailable\): 14 UNAVAILABLE/);
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), { code: 4 });
    expect(mapReadError(deadline)).toBeInstanceOf(StoreUnavailableError);
    expect(isRetryable(deadline)).toBe(true);
    const invalid = Object.assign(new Error('3 INVALID_ARGUMENT: bad'), { code: 3 });
    expect(mapReadError(invalid)).toBe(invalid);
  });

  it('maps a socket failure in the cause chain to StoreUnavailableError, and leaves other errors alone', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' });
    expect(mapReadError(new Error('wrapped', { cause: refused }))).toBeInstanceOf(StoreUnavailableError);
    const unknown = new UnknownError(undefined, 'something else');
    expect(mapReadError(unknown)).toBe(unknown);
    const already = new StoreUnavailableError('event store', refused);
    expect(mapReadError(already)).toBe(already);
  });

  it('retries appends only on timeouts and a lost leader', () => {
    expect(isRetryable(new DeadlineExceededError())).toBe(true);
    expect(isRetryable(new TimeoutError())).toBe(true);
    expect(isRetryable(Object.assign(new Error('not leader'), { type: ErrorType.NOT_LEADER }))).toBe(true);
    expect(isRetryable(new UnavailableError())).toBe(false);
    expect(isRetryable(wrongVersion('any', 1n))).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
  });

  it('recognises a missing stream', () => {
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 'missing'))).toBe(true);
    expect(isStreamNotFound(new UnknownError())).toBe(false);
  });
});
