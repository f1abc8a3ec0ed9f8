/** The shape every aggregate follows: pure functions, no I/O, no clock, ids passed in. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

export interface Decider<Command, State, Event extends DomainEvent> {
  initialState(): State;
  evolve(state: State, event: Event): State;
  /** Returns the events that record the command's effect; throws DomainError when it must be refused. */
  decide(command: Command, state: State): Event[];
  /** Current schema version of each event type this decider emits; older versions are upcast on read (upcasting.ts). */
  schemaVersions: Readonly<Record<Event['type'], number>>;
}

export type DomainErrorCode = 'BAD_USER_INPUT' | 'CONFLICT' | 'NOT_FOUND' | 'FORBIDDEN' | 'LEGAL_HOLD'
  | 'SIGNUP_CLOSED' | 'INVITE_INVALID' | 'RESET_TOKEN_INVALID';

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  constructor(code: DomainErrorCode, message: string) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
  }
}

/** Declares which data fields of an event type are personal, and whose (ARCHITECTURE.md §5). */
export interface PersonalFields {
  subjectField: string;
  fields: readonly string[];
  /**
   * Seal new events under a key of their own item (`<subject>/<kind>/<data[field]>`) rather than the
   * person's, so one item can be shredded alone (retention); erasing the person shreds these too.
   */
  keyScope?: { kind: string; field: string };
}
