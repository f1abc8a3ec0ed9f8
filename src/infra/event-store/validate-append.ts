import { isTraceParent } from '../tracing.ts';
import { InvalidEventError } from './errors.ts';
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_APPEND, MAX_STREAM_NAME_LENGTH, type ExpectedRevision, type NewEvent } from './port.ts';

export interface SerializedEvent {
  id: string;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TYPE = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;
/**
 * A NUL in serialised JSON is the escape `\u0000` preceded by an even number of backslashes; an odd
 * number means the text holds a literal backslash followed by "u0000", which is fine.
 */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/** Checks an append before any adapter touches storage, and serialises data and metadata once. */
export function validateAppend(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): SerializedEvent[] {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > MAX_STREAM_NAME_LENGTH) {
    throw new InvalidEventError(`Stream name must be 1 to ${MAX_STREAM_NAME_LENGTH} characters`);
  }
  if (stream.startsWith('$')) throw new InvalidEventError('Stream names starting with "$" are reserved');
  if (!(expected === 'any' || expected === 'no_stream' || expected === 'stream_exists' || (typeof expected === 'bigint' && expected >= 0n))) {
    throw new InvalidEventError(`Invalid expected revision: ${String(expected)}`);
  }
  if (!Array.isArray(events) || events.length === 0) throw new InvalidEventError('An append needs at least one event');
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidEventError(`An append holds at most ${MAX_EVENTS_PER_APPEND} events`);
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    const where = `event ${index} of stream "${stream}"`;
    if (typeof event?.id !== 'string' || !UUID.test(event.id)) throw new InvalidEventError(`${where}: id must be a lowercase UUID`);
    if (seen.has(event.id)) throw new InvalidEventError(`${where}: id ${event.id} appears twice in one append`);
    seen.add(event.id);
    if (typeof event.type !== 'string' || !TYPE.test(event.type)) throw new InvalidEventError(`${where}: invalid event type`);
    if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1) {
      throw new InvalidEventError(`${where}: schemaVersion must be a positive integer`);
    }
    if (event.data === null || typeof event.data !== 'object' || Array.isArray(event.data)) {
      throw new InvalidEventError(`${where}: data must be a JSON object`);
    }
    const m = event.metadata;
    if (!m || typeof m.correlationId !== 'string' || typeof m.occurredAt !== 'string' || Number.isNaN(Date.parse(m.occurredAt))) {
      throw new InvalidEventError(`${where}: metadata needs a correlationId and an ISO occurredAt`);
    }
    let data: string;
    let metadata: string;
    try {
      data = JSON.stringify(event.data);
      metadata = JSON.stringify({
        actorId: m.actorId ?? null,
        correlationId: m.correlationId,
        causationId: m.causationId ?? null,
        requestId: m.requestId ?? null,
        occurredAt: m.occurredAt,
        // Only a well-formed traceparent, and only when there is one: events without tracing stay as they were.
        ...(isTraceParent(m.traceParent) ? { traceParent: m.traceParent } : {}),
      });
    } catch (error) {
      throw new InvalidEventError(`${where}: data is not serialisable as JSON (${(error as Error).message})`);
    }
    if (JSON_NUL.test(data) || JSON_NUL.test(metadata)) {
      throw new InvalidEventError(`${where}: data must not contain NUL characters`);
    }
    const bytes = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    if (bytes > MAX_EVENT_BYTES) {
      throw new InvalidEventError(`${where}: ${bytes} bytes exceeds the limit of ${MAX_EVENT_BYTES} bytes per event`);
    }
    return { id: event.id, type: event.type, schemaVersion: event.schemaVersion, data, metadata };
  });
}

export function checkReadCount(maxCount: number | undefined, fallback: number): number {
  const count = maxCount ?? fallback;
  if (!Number.isInteger(count) || count < 1) throw new InvalidEventError('maxCount must be a positive integer');
  return count;
}
