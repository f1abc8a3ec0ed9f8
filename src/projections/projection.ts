import type { RecordedEvent } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';

/**
 * A projection turns events into read-model rows. Handlers must be safe to re-run (upserts), and
 * must write only the tables listed in `tables`, unqualified, so a rebuild can redirect them into
 * fresh copies through the search_path.
 */
export interface Projection {
  readonly name: string;
  readonly tables: readonly string[];
  /** Event types this projection reacts to; the checkpoint still advances over every other event. */
  readonly eventTypes: readonly string[];
  /**
   * Version of what `handle` writes (default 1). Bump it when the same events now give other rows
   * (e.g. the lexical analyzer changed): a read model built by a lower version is rebuilt when the
   * runner takes the projection's lease — from position zero into fresh tables, swapped in when
   * complete, the old rows serving until then — and the checkpoint records the new version.
   */
  readonly version?: number;
  handle(event: RecordedEvent, tx: SqlExecutor): Promise<void>;
  /**
   * Optional: applies a run of events (of this projection's types, in log order, none parked) with
   * exactly the result of `handle` on each in turn, in fewer statements (e.g. one multi-row insert
   * for consecutive registrations). Catch-up and rebuilds use it for whole batches; when it fails,
   * the batch is applied again event by event with `handle`, which finds the event at fault.
   */
  handleBatch?(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void>;
}

/** A personal field whose key was erased reads as null in a read model, never as the marker. */
export function personalField<T>(event: RecordedEvent, field: string, value: T): T | null {
  return event.erasedFields?.includes(field) ? null : value;
}
