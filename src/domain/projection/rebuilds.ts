import { DomainError, type Decider, type DomainEvent } from '../decider.ts';

/**
 * An operator's rebuild of a read model, recorded with the operator as actor: the request before the
 * rebuild begins (so a rebuild that fails or is interrupted still shows), and its completion with the
 * log position the fresh tables reached.
 */
export type RebuildEvent =
  | DomainEvent<'ProjectionRebuildRequested', { projection: string }>
  | DomainEvent<'ProjectionRebuilt', { projection: string; position: string }>;

export type RebuildCommand =
  | { type: 'RequestProjectionRebuild'; projection: string }
  | { type: 'RecordProjectionRebuilt'; projection: string; position: string };

export interface RebuildState {
  requests: number;
}

export const rebuildStream = (projection: string) => `projection_rebuilds-${projection}`;

export const rebuildDecider: Decider<RebuildCommand, RebuildState, RebuildEvent> = {
  initialState: () => ({ requests: 0 }),
  evolve: (state, event) => (event.type === 'ProjectionRebuildRequested' ? { requests: state.requests + 1 } : state),
  decide(command, state) {
    switch (command.type) {
      case 'RequestProjectionRebuild':
        return [{ type: 'ProjectionRebuildRequested', data: { projection: command.projection } }];
      case 'RecordProjectionRebuilt':
        if (state.requests === 0) throw new DomainError('CONFLICT', 'No rebuild of this projection was requested');
        if (!/^\d+$/.test(command.position)) throw new DomainError('BAD_USER_INPUT', 'Position must be a non-negative integer');
        return [{ type: 'ProjectionRebuilt', data: { projection: command.projection, position: command.position } }];
    }
  },
  schemaVersions: { ProjectionRebuildRequested: 1, ProjectionRebuilt: 1 },
};
