import { DomainError, type Decider, type DomainEvent } from '../decider.ts';
import { checkText } from '../text.ts';

/**
 * An operator's way past an event a projection truly cannot apply: the event is parked (skipped by
 * that projection from then on, in live runs and rebuilds alike), and the parking is itself a fact
 * in the log, with the operator as actor and their reason.
 */
export type ParkingEvent = DomainEvent<'ProjectionEventParked', {
  projection: string; eventId: string; eventType: string; position: string; reason: string;
}>;

export type ParkingCommand = {
  type: 'ParkProjectionEvent'; projection: string; eventId: string; eventType: string; position: string; reason: string;
};

export interface ParkingState {
  parked: ReadonlySet<string>;
}

export const MAX_PARKING_REASON_LENGTH = 500;

export const parkingStream = (projection: string) => `projection_parking-${projection}`;

export const parkingDecider: Decider<ParkingCommand, ParkingState, ParkingEvent> = {
  initialState: () => ({ parked: new Set() }),

  evolve: (state, event) => ({ parked: new Set(state.parked).add(event.data.eventId) }),

  decide(command, state) {
    const reason = checkText(command.reason, 'Reason').trim();
    if (reason.length === 0 || reason.length > MAX_PARKING_REASON_LENGTH) {
      throw new DomainError('BAD_USER_INPUT', `Reason must be 1 to ${MAX_PARKING_REASON_LENGTH} characters`);
    }
    if (state.parked.has(command.eventId)) return [];
    return [{
      type: 'ProjectionEventParked',
      data: { projection: command.projection, eventId: command.eventId, eventType: command.eventType, position: command.position, reason },
    }];
  },

  schemaVersions: { ProjectionEventParked: 1 },
};
