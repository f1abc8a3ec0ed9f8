import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TEXT_PARSERS, TYPE_OIDS, utcTimestamptzToIso } from '../../../src/infra/read-db/type-parsers.ts';

const parseTimestamptz = TEXT_PARSERS[TYPE_OIDS.timestamptz]!;
/** What the parser gave before the fast path: node-postgres' Date, in ISO form. */
const viaDate = (text: string) => (pg.types.getTypeParser(TYPE_OIDS.timestamptz, 'text') as (t: string) => Date)(text).toISOString();

const pad = (n: number, width: number) => String(n).padStart(width, '0');
/** PostgreSQL's text for a UTC timestamptz, as a session in UTC prints it. */
const pgUtcText = fc.record({
  year: fc.integer({ min: 1, max: 9999 }), month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 28 }),
  hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }),
  micros: fc.integer({ min: 0, max: 999_999 }),
}).map(({ year, month, day, hour, minute, second, micros }) => {
  // PostgreSQL drops the fraction's trailing zeros, and the fraction itself when it is zero.
  const fraction = micros === 0 ? '' : `.${pad(micros, 6).replace(/0+$/, '')}`;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction}+00`;
});

describe('timestamptz text → ISO string', () => {
  it('rearranges a UTC timestamp exactly as parsing it through a Date did, microseconds truncated', () => {
    fc.assert(fc.property(pgUtcText, (text) => {
      expect(utcTimestamptzToIso(text)).toBe(viaDate(text));
      expect(parseTimestamptz(text)).toBe(viaDate(text));
    }), { numRuns: 2_000 });
    for (let ms = 0; ms < 1000; ms++) {
      const text = `2024-01-02 03:04:05.${pad(ms, 3).replace(/0+$/, '') || '0'}+00`;
      expect(parseTimestamptz(text)).toBe(`2024-01-02T03:04:05.${pad(ms, 3)}Z`);
    }
  });

  it('leaves everything that is not a plain UTC timestamp to the full parser', () => {
    for (const text of ['2024-01-02 05:04:05+02', '2024-01-02 05:04:05.5+05:30', 'infinity', '-infinity', '0044-03-15 12:00:00+00 BC',
      '12024-01-02 03:04:05+00', '2024-01-02T03:04:05+00', '2024-01-02 03:04:05,5+00', '2024-01-02 03:04:05.+00', '2024-1-02 03:04:05+00']) {
      expect(utcTimestamptzToIso(text)).toBeNull();
    }
    expect(parseTimestamptz('2024-01-02 05:04:05+02')).toBe('2024-01-02T03:04:05.000Z');
    expect(parseTimestamptz('infinity')).toBe('infinity');
  });
});
