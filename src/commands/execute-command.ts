import { inSpan } from '../infra/tracing.ts';
import type { Decider, DomainEvent } from '../domain/decider.ts';
import { WrongExpectedRevisionError } from '../infra/event-store/errors.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import { metadataFrom, type CommandContext } from './context.ts';

export interface CommandResult<State, Event> {
  /** Events this command appended (empty when the decider had nothing to record). */
  events: Event[];
  state: State;
  /** Position of the last appended event, for read-your-writes; null when nothing was appended. */
  position: bigint | null;
  /** True when the decision was made on a state read again after a conflict (not on the `loaded` one given). */
  reloaded?: boolean;
}

export const MAX_CONFLICT_RETRIES = 5;

/** Folds a stream's events into the decider's state; returns the state, the stream's revision and the events folded. The store upcasts. */
export async function loadAggregate<C, S, E extends DomainEvent>(
  store: EventStore, decider: Decider<C, S, E>, stream: string,
): Promise<{ state: S; revision: bigint | 'no_stream'; recorded: RecordedEvent[] }> {
  const recorded = await store.readStream(stream);
  const state = recorded.reduce((s, r) => decider.evolve(s, { type: r.type, data: r.data } as E), decider.initialState());
  return { state, revision: recorded.length === 0 ? 'no_stream' : recorded[recorded.length - 1]!.revision, recorded };
}

/** A stream's state as loadAggregate returned it, at `revision`. */
export interface Loaded<S> { state: S; revision: bigint | 'no_stream' }

/**
 * Load → decide → append with the expected revision. A concurrent writer makes the append fail with a
 * conflict; then the stream is reloaded and the command decided again on the new state. `loaded`: a
 * state the caller has just loaded, decided on first instead of reading the stream again (stale, it
 * only costs the conflict and a reload).
 */
export async function executeCommand<C, S, E extends DomainEvent>(
  store: EventStore, decider: Decider<C, S, E>, stream: string, command: C, context: CommandContext, loaded?: Loaded<S>,
): Promise<CommandResult<S, E>> {
  const type = (command as { type?: unknown } | null)?.type;
  return inSpan(`command ${typeof type === 'string' ? type : 'unknown'}`, { 'evident.stream.category': stream.split('-')[0] ?? '' },
    () => executeWithRetries(store, decider, stream, command, context, loaded));
}

async function executeWithRetries<C, S, E extends DomainEvent>(
  store: EventStore, decider: Decider<C, S, E>, stream: string, command: C, context: CommandContext, loaded: Loaded<S> | undefined,
): Promise<CommandResult<S, E>> {
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = attempt === 0 && loaded ? loaded : await loadAggregate(store, decider, stream);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null, reloaded: attempt > 0 };
    const metadata = metadataFrom(context);
    try {
      const result = await store.append(stream, events.map((event) => ({
        id: context.newId(),
        type: event.type,
        schemaVersion: (decider.schemaVersions as Record<string, number>)[event.type] ?? 1,
        data: event.data,
        metadata,
      })), { expectedRevision: revision });
      return { events, state: events.reduce(decider.evolve, state), position: result.position, reloaded: attempt > 0 };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError && attempt < MAX_CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}
