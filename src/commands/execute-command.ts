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

/**
 * Load → decide → append with the expected revision. A concurrent writer makes the append fail with a
 * conflict; then the stream is reloaded and the command decided again on the new state.
 */
export async function executeCommand<C, S, E extends DomainEvent>(
  store: EventStore, decider: Decider<C, S, E>, stream: string, command: C, context: CommandContext,
): Promise<CommandResult<S, E>> {
  const type = (command as { type?: unknown } | null)?.type;
  return inSpan(`command ${typeof type === 'string' ? type : 'unknown'}`, { 'evident.stream.category': stream.split('-')[0] ?? '' },
    () => executeWithRetries(store, decider, stream, command, context));
}

async function executeWithRetries<C, S, E extends DomainEvent>(
  store: EventStore, decider: Decider<C, S, E>, stream: string, command: C, context: CommandContext,
): Promise<CommandResult<S, E>> {
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = await loadAggregate(store, decider, stream);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null };
    const metadata = metadataFrom(context);
    try {
      const result = await store.append(stream, events.map((event) => ({
        id: context.newId(),
        type: event.type,
        schemaVersion: (decider.schemaVersions as Record<string, number>)[event.type] ?? 1,
        data: event.data,
        metadata,
      })), { expectedRevision: revision });
      return { events, state: events.reduce(decider.evolve, state), position: result.position };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError && attempt < MAX_CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}
