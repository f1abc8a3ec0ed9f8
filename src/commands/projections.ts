import { DomainError } from '../domain/decider.ts';
import { parkingDecider, parkingStream } from '../domain/projection/parking.ts';
import { rebuildDecider, rebuildStream } from '../domain/projection/rebuilds.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { EventUpcastError } from '../infra/event-store/upcasting-event-store.ts';
import type { ProjectionRunner } from '../projections/runner.ts';
import type { CommandContext } from './context.ts';
import { executeCommand } from './execute-command.ts';

export interface ProjectionCommandsDeps {
  store: EventStore;
  projections: ProjectionRunner;
}

/** Operator actions on projections that are facts in the log. */
export function createProjectionCommands({ store, projections }: ProjectionCommandsDeps) {
  return {
    /**
     * Parks the event a projection is stopped at, so it carries on past it (on whichever instance
     * runs it). Only the event it is actually stopped at can be parked: an operator names what they saw.
     */
    async park(input: { projection: string; eventId: string; reason: string }, context: CommandContext) {
      const status = (await projections.status()).find((s) => s.name === input.projection);
      if (!status) throw new DomainError('NOT_FOUND', `No projection named "${input.projection}"`);
      if (status.failedEventId !== input.eventId || status.failedPosition === null) {
        throw new DomainError('CONFLICT', `Projection "${input.projection}" is not stopped at event ${input.eventId}`);
      }
      const eventType = await store.readAll({ after: status.failedPosition - 1n, maxCount: 1 })
        .then(([event]) => (event?.id === input.eventId ? event.type : 'unknown'))
        .catch((error: unknown) => (error instanceof EventUpcastError ? error.event.type : 'unknown'));
      const result = await executeCommand(store, parkingDecider, parkingStream(input.projection), {
        type: 'ParkProjectionEvent', projection: input.projection, eventId: input.eventId,
        eventType, position: status.failedPosition.toString(), reason: input.reason,
      }, context);
      projections.nudge(input.projection);
      return result;
    },

    /**
     * Rebuilds a read model (ProjectionRunner.rebuild), recorded before it begins and once it is done.
     * A rebuild refused by the runner (already rebuilding, or not run here) leaves its request in the log.
     */
    async rebuild(input: { projection: string }, context: CommandContext) {
      if (!(await projections.status()).some((s) => s.name === input.projection)) {
        throw new DomainError('NOT_FOUND', `No projection named "${input.projection}"`);
      }
      const stream = rebuildStream(input.projection);
      await executeCommand(store, rebuildDecider, stream, { type: 'RequestProjectionRebuild', projection: input.projection }, context);
      await projections.rebuild(input.projection);
      const status = (await projections.status()).find((s) => s.name === input.projection);
      return executeCommand(store, rebuildDecider, stream,
        { type: 'RecordProjectionRebuilt', projection: input.projection, position: (status?.position ?? 0n).toString() }, context);
    },
  };
}

export type ProjectionCommands = ReturnType<typeof createProjectionCommands>;
