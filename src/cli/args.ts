// Argument parsers for commander options: a bad value is one clear line and exit 2.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) {
    throw new InvalidArgumentError('must be a whole number from 1 to 1000000');
  }
  return Number(value);
}

export function position(value: string): bigint {
  if (!/^\d{1,19}$/.test(value)) throw new InvalidArgumentError('must be a log position (a whole number, 0 or more)');
  return BigInt(value);
}

/** An ISO-8601 time with a date (2026-12-01, 2026-12-01T10:00:00Z, …), as a Date. */
export function isoTime(value: string): Date {
  const time = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('must be an ISO-8601 time such as 2026-12-01T10:00:00Z');
  return time;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
