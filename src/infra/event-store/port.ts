/**
 * The event store port (ARCHITECTURE.md §3). Every adapter passes test/contract/event-store.contract.ts.
 * Revisions and positions are bigints: a stream's first event has revision 0n; positions are the
 * store's total order over `$all`, strictly increasing and never reused (gaps are allowed).
 */

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface EventMetadata {
  actorId: string | null;
  correlationId: string;
  causationId: string | null;
  requestId: string | null;
  /** ISO-8601 time the fact happened, given by the caller (domain code never reads a clock). */
  occurredAt: string;
  /** W3C traceparent of the operation that appended it, only while tracing is on (docs/operations.md, Tracing). */
  traceParent?: string;
}

/** An event as a command handler proposes it, before the store gives it a place. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  id: string;
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  stream: string;
  revision: bigint;
  position: bigint;
  /** Personal fields whose key has been erased; their values read as ERASED. Empty for most events. */
  erasedFields?: string[];
}

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextRevision: bigint;
  /** Position of the last appended event. */
  position: bigint;
}

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
}

export interface ReadStreamOptions {
  /** Inclusive start revision; defaults to the first (forwards) or the last (backwards) event. */
  from?: bigint | 'start' | 'end';
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
}

export interface AllFilter {
  eventTypes?: readonly string[];
  streamPrefix?: string;
}

export interface ReadAllOptions {
  /** Exclusive: events with a position strictly after this one. Omit (or 0n) to start at the beginning. */
  after?: bigint;
  maxCount?: number;
  filter?: AllFilter;
}

export interface SubscribeOptions {
  /** Exclusive start position, as for readAll; omit to start at the beginning of the log. */
  after?: bigint;
  filter?: AllFilter;
  /** Events fetched per read while catching up. */
  batchSize?: number;
}

export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  readonly kind: string;
  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up from `after`, then live, with no gap or duplicate at the seam. */
  subscribeToAll(options?: SubscribeOptions): Subscription;
  /** The position of the newest event, 0n when the log is empty. */
  headPosition(): Promise<bigint>;
  close(): Promise<void>;
}

export const MAX_EVENT_BYTES = 1024 * 1024;
/**
 * The largest append the platform makes is an imported conversation: ConversationImported and one
 * event per message, up to MAX_IMPORTED_MESSAGES (2,000) of them, recorded at once so that an import
 * is never half-written (test/commands/conversation-import-limits.test.ts keeps the two in step).
 */
export const MAX_EVENTS_PER_APPEND = 2048;
export const MAX_STREAM_NAME_LENGTH = 256;
