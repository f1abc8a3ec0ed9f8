import type { ExpectedRevision } from './port.ts';

export class WrongExpectedRevisionError extends Error {
  readonly code = 'CONFLICT';
  readonly stream: string;
  readonly expected: ExpectedRevision;
  /** The stream's current revision, or 'no_stream' when it has no events. */
  readonly actual: bigint | 'no_stream';

  constructor(stream: string, expected: ExpectedRevision, actual: bigint | 'no_stream') {
    super(`Stream "${stream}" expected revision ${String(expected)} but is at ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
    this.stream = stream;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Malformed, oversized or otherwise unacceptable events; nothing was appended. */
export class InvalidEventError extends Error {
  readonly code = 'BAD_USER_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** Event ids that were already used in a different way (another stream, or a partial overlap). */
export class DuplicateEventIdError extends Error {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'DuplicateEventIdError';
  }
}
