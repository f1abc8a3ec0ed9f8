// Pure translations between the event store port and @kurrent/kurrentdb-client: expected revisions,
// $all positions, filters, recorded events and errors. No I/O, so every rule is unit-tested without
// a server (test/infra/event-store/kurrentdb-mapping.test.ts).
import {
  ANY, END, ErrorType, convertToCommandError, NO_STREAM, START, STREAM_EXISTS, eventTypeFilter, excludeSystemEvents, streamNameFilter,
  type AllStreamResolvedEvent, type AppendStreamState, type Filter, type JSONEventData, type Position, type ReadPosition,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { StoreUnavailableError, toStoreError } from '../store-unavailable.ts';
import { matchesAllFilter } from './all-filter.ts';
import { DuplicateEventIdError, InvalidEventError, WrongExpectedRevisionError } from './errors.ts';
import type { AllFilter, EventMetadata, ExpectedRevision, RecordedEvent } from './port.ts';
import type { SerializedEvent } from './validate-append.ts';

export const KURRENTDB_STORE = 'event store';

/** The port's expected revision as KurrentDB's stream state (the same four cases, by other names). */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  if (expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  return expected;
}

/**
 * A $all position as the port's bigint: its commit position. Every event appended through the gRPC
 * API is an implicit transaction whose commit position is its own record's log position (commit ===
 * prepare), so the commit position alone is unique, strictly increasing in $all order and fits in a
 * PostgreSQL bigint (a byte offset in the transaction file). Events of legacy explicit transactions
 * (the old TCP API) share one commit position; they cannot be told apart by a bigint and are refused.
 */
export function positionToBigint(position: Position): bigint {
  if (position.commit !== position.prepare) {
    throw new Error(
      `KurrentDB position ${position.commit}/${position.prepare} belongs to an explicit transaction; this event store only reads events appended through the gRPC API`,
    );
  }
  if (position.commit <= 0n) throw new Error(`KurrentDB position ${position.commit} is not after the start of $all`);
  return position.commit;
}

/** Where a read or subscription starts for the port's exclusive `after` (0n or omitted: the beginning). */
export function fromPositionFor(after: bigint | undefined): ReadPosition {
  if (after === undefined || after <= 0n) return START;
  return { commit: after, prepare: after };
}

/** The end of $all, for a backwards read of the newest event. */
export const END_OF_ALL: ReadPosition = END;

const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);

/** An exact-match regex over event types, for the server-side type filter. */
export function eventTypesRegex(types: readonly string[]): string {
  return `^(?:${types.map(escapeRegex).join('|')})$`;
}

/**
 * The server-side part of a port filter. KurrentDB filters on stream names or on event types, not
 * both: a stream prefix goes to the server (it is usually the narrower), event types then stay for
 * clientFilterAccepts. With neither, system events are excluded on the server.
 */
export function serverFilter(filter: AllFilter | undefined): Filter {
  if (filter?.streamPrefix) return streamNameFilter({ prefixes: [filter.streamPrefix] });
  if (filter?.eventTypes && filter.eventTypes.length > 0) return eventTypeFilter({ regex: eventTypesRegex(filter.eventTypes) });
  return excludeSystemEvents();
}

/** Whether a system event ($-stream or $-type: metadata, links, projections' output) is left out of every read. */
export function isSystemEvent(stream: string, type: string): boolean {
  return stream.startsWith('$') || type.startsWith('$');
}

/** What the server-side filter could not check: the event types beside a prefix, and system events always. */
export function clientFilterAccepts(filter: AllFilter | undefined, event: { stream: string; type: string }): boolean {
  return !isSystemEvent(event.stream, event.type) && matchesAllFilter(filter, event);
}

/** The metadata key that carries the port's schema version beside the five metadata fields. */
const SCHEMA_VERSION_KEY = 'schemaVersion';

/** A validated event as the client's JSON event: data as is, metadata with the schema version added. */
export function toEventData(event: SerializedEvent): JSONEventData {
  const metadata = JSON.parse(event.metadata) as Record<string, unknown>;
  return {
    id: event.id,
    contentType: 'application/json',
    type: event.type,
    data: JSON.parse(event.data) as Record<string, unknown>,
    metadata: { ...metadata, [SCHEMA_VERSION_KEY]: event.schemaVersion },
  };
}

const asObject = (value: unknown): Record<string, unknown> | undefined => {
  if (value instanceof Uint8Array) {
    try {
      return asObject(JSON.parse(Buffer.from(value).toString('utf8')));
    } catch {
      return undefined;
    }
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
};

/**
 * A read event as the port's RecordedEvent, or undefined for what the port never shows (system
 * events, unresolved links, events without JSON data or without our metadata, i.e. not written by
 * this adapter). `position` comes from the event itself ($all) or is required from the caller.
 */
export function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (!event || resolved.link) return undefined;
  if (isSystemEvent(event.streamId, event.type)) return undefined;
  const data = asObject(event.data);
  const meta = asObject(event.metadata);
  if (!data || !meta || !event.position) return undefined;
  const schemaVersion = meta[SCHEMA_VERSION_KEY];
  if (typeof schemaVersion !== 'number' || typeof meta.correlationId !== 'string' || typeof meta.occurredAt !== 'string') return undefined;
  const metadata: EventMetadata = {
    actorId: (meta.actorId as string | null | undefined) ?? null,
    correlationId: meta.correlationId,
    causationId: (meta.causationId as string | null | undefined) ?? null,
    requestId: (meta.requestId as string | null | undefined) ?? null,
    occurredAt: meta.occurredAt,
    ...(typeof meta.traceParent === 'string' ? { traceParent: meta.traceParent } : {}),
  };
  return {
    id: event.id,
    stream: event.streamId,
    revision: event.revision,
    position: positionToBigint(event.position),
    type: event.type,
    schemaVersion,
    data,
    metadata,
  };
}

/** Whether a stream's actual state meets what the append expected (then a refusal was not a revision conflict). */
export function satisfies(expected: ExpectedRevision, actual: bigint | 'no_stream'): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 'no_stream';
  if (expected === 'stream_exists') return actual !== 'no_stream';
  return actual === expected;
}

const typeOf = (error: unknown): string | undefined => {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
};

/** Failures that mean the server could not be reached or did not answer in time: try again later. */
const UNAVAILABLE_TYPES = new Set<string>([ErrorType.UNAVAILABLE, ErrorType.DEADLINE_EXCEEDED, ErrorType.TIMEOUT, ErrorType.NOT_LEADER]);

/** Whether an append may be sent again (same ids, same expected revision: the server's idempotency makes it safe). */
export function isRetryable(error: unknown): boolean {
  const type = failureType(error);
  return type === ErrorType.DEADLINE_EXCEEDED || type === ErrorType.TIMEOUT || type === ErrorType.NOT_LEADER;
}

/** A stream that does not exist (reading it gives no events). */
export function isStreamNotFound(error: unknown): boolean {
  return typeOf(error) === ErrorType.STREAM_NOT_FOUND;
}

/** gRPC status codes of a server out of reach or too slow: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED. */
const UNAVAILABLE_GRPC_CODES: Record<number, string> = { 14: ErrorType.UNAVAILABLE, 4: ErrorType.DEADLINE_EXCEEDED };

/**
 * The client's error type of a failure: its own errors carry `type`; a raw gRPC error (some paths,
 * e.g. the first append on a connection that never came up, pass it on unconverted) is converted by
 * the client's own convertToCommandError, then by its status code.
 */
function failureType(error: unknown): string | undefined {
  const own = typeOf(error);
  if (own !== undefined || !(error instanceof Error)) return own;
  let converted: string | undefined;
  try {
    converted = typeOf(convertToCommandError(error));
  } catch {
    // not shaped as the client expects (no gRPC metadata): decided by the status code below
  }
  if (converted !== undefined) return converted;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? UNAVAILABLE_GRPC_CODES[code] : undefined;
}

/** Read failures: unreachable or too slow → StoreUnavailableError, anything else unchanged. */
export function mapReadError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const type = failureType(error);
  if (type !== undefined && UNAVAILABLE_TYPES.has(type)) {
    // The client's messages are often just the class name ("UnavailableError"): say what happened.
    const said = (error as Error).message;
    const detail = said && !/^[A-Za-z]+Error$/.test(said) ? `: ${said}` : '';
    const failure = Object.assign(new Error(`the server did not answer (${type})${detail}`, { cause: error }), { name: 'KurrentDB' });
    return new StoreUnavailableError(KURRENTDB_STORE, failure);
  }
  return toStoreError(KURRENTDB_STORE, error);
}

/**
 * An append's failure in the port's terms. A wrong expected version whose actual state does meet the
 * expectation can only be KurrentDB's "corrupted idempotency" (part of the batch's ids already in the
 * stream, the rest new): the port calls that DuplicateEventIdError.
 */
export function mapAppendError(error: unknown, stream: string, expected: ExpectedRevision): unknown {
  const type = typeOf(error);
  if (type === ErrorType.WRONG_EXPECTED_VERSION) {
    const raw = (error as { actualState?: unknown }).actualState;
    const actual = typeof raw === 'bigint' && raw >= 0n ? raw : 'no_stream';
    if (satisfies(expected, actual)) {
      return new DuplicateEventIdError(`Some event ids of this append were already used in a different append (stream "${stream}")`);
    }
    return new WrongExpectedRevisionError(stream, expected, actual);
  }
  if (type === ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED || type === ErrorType.APPEND_RECORD_SIZE_EXCEEDED || type === ErrorType.TRANSACTION_MAX_SIZE_EXCEEDED) {
    return new InvalidEventError(`The append is larger than the KurrentDB server accepts (raise its MaxAppendSize): ${(error as Error).message}`);
  }
  return mapReadError(error);
}
