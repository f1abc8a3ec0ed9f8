import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors.ts';
import type { AppendResult, ExpectedRevision } from './port.ts';

export function checkExpected(stream: string, expected: ExpectedRevision, current: bigint | undefined): void {
  const actual = current ?? 'no_stream';
  if (expected === 'any') return;
  if (expected === 'no_stream' ? current !== undefined
    : expected === 'stream_exists' ? current === undefined
      : current !== expected) {
    throw new WrongExpectedRevisionError(stream, expected, actual);
  }
}

interface ExistingEvent { stream: string; revision: bigint; position: bigint }

/** Decides what a re-append of already-used event ids means: the original result, or a clear error. */
export function idempotentResult(stream: string, found: Array<ExistingEvent | undefined>): AppendResult {
  const first = found[0];
  const consistent = first !== undefined && found.every((f, i) =>
    f !== undefined && f.stream === stream && f.revision === first.revision + BigInt(i));
  if (!consistent) {
    throw new DuplicateEventIdError(
      `Some event ids of this append were already used in a different append (stream "${stream}")`,
    );
  }
  const last = found[found.length - 1]!;
  return { nextRevision: last.revision, position: last.position };
}
