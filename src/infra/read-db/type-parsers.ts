import { types as pgliteTypes } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * The JS types both read-db adapters return, so a read model behaves the same on PGlite and on
 * PostgreSQL. Everything not listed keeps the driver default, which already agrees on both
 * (int2/int4/float4/float8 → number, bool → boolean, text/varchar/uuid → string, json/jsonb → parsed
 * value, arrays of those → arrays).
 *
 * | PostgreSQL type | JS value                                                       |
 * |-----------------|----------------------------------------------------------------|
 * | int8 (bigint)   | decimal string, e.g. '9007199254740993' (no precision loss)     |
 * | numeric         | decimal string                                                  |
 * | timestamptz     | ISO-8601 UTC string with milliseconds (`Date#toISOString()`),   |
 * |                 | e.g. '2024-01-02T03:04:05.123Z'; microseconds are truncated;    |
 * |                 | 'infinity' / '-infinity' as is                                 |
 * | timestamp       | the server's text, e.g. '2024-01-02 03:04:05.5' (no time zone)   |
 * | date            | 'YYYY-MM-DD'                                                    |
 * | interval        | the server's text, e.g. '1 day 02:00:00'                       |
 * | bytea           | Buffer                                                          |
 * | arrays of these | arrays of the same                                              |
 *
 * Parameters go in as the drivers take them: bigint, number or string for int8; Date or ISO string
 * for timestamptz; an object for json/jsonb. Pass `JSON.stringify(value)` for a json/jsonb parameter
 * holding an array: node-postgres would otherwise send it as a Postgres array literal.
 */

export const TYPE_OIDS = {
  bytea: 17,
  int8: 20,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
} as const;

type TextParser = (text: string) => unknown;

const keepText: TextParser = (text) => text;
const pgTimestamptz = pg.types.getTypeParser(TYPE_OIDS.timestamptz, 'text') as (text: string) => Date | number;
const pgBytea = pg.types.getTypeParser(TYPE_OIDS.bytea, 'text') as (text: string) => Buffer;

const isDigit = (code: number) => code >= 48 && code <= 57;
const SHAPE = 'dddd-dd-dd dd:dd:dd';

/**
 * The ISO form of PostgreSQL's text for a UTC timestamptz (`2024-01-02 03:04:05.123456+00`, what a
 * session in UTC prints, years 0001–9999), rearranged without parsing a date; null for anything
 * else (another offset, infinity, BC, a fifth year digit). A page of conversations has several of
 * these per row: parsing each one through a Date was a tenth of a list query's CPU.
 */
export function utcTimestamptzToIso(text: string): string | null {
  const length = text.length;
  if (length < 22 || length > 29 || !text.endsWith('+00')) return null;
  for (let i = 0; i < SHAPE.length; i++) {
    const code = text.charCodeAt(i);
    if (SHAPE[i] === 'd' ? !isDigit(code) : code !== SHAPE.charCodeAt(i)) return null;
  }
  if (text.startsWith('0000')) return null;
  const date = text.slice(0, 10);
  const time = text.slice(11, 19);
  if (length === 22) return `${date}T${time}.000Z`;
  if (text.charCodeAt(19) !== 46 /* . */) return null;
  const fraction = text.slice(20, length - 3);
  if (fraction.length === 0) return null;
  for (let i = 0; i < fraction.length; i++) if (!isDigit(fraction.charCodeAt(i))) return null;
  return `${date}T${time}.${(fraction + '00').slice(0, 3)}Z`;
}

function timestamptzToIso(text: string): string {
  const fast = utcTimestamptzToIso(text);
  if (fast !== null) return fast;
  const parsed = pgTimestamptz(text);
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : text;
}

/** Element parsers by type oid (text format). */
export const SCALAR_PARSERS: Readonly<Record<number, TextParser>> = {
  [TYPE_OIDS.bytea]: (text) => pgBytea(text),
  [TYPE_OIDS.int8]: keepText,
  [TYPE_OIDS.date]: keepText,
  [TYPE_OIDS.timestamp]: keepText,
  [TYPE_OIDS.timestamptz]: timestamptzToIso,
  [TYPE_OIDS.interval]: keepText,
  [TYPE_OIDS.numeric]: keepText,
};

/** Array type oid → element type oid, for the types above. */
const ARRAY_ELEMENTS: Readonly<Record<number, number>> = {
  1001: TYPE_OIDS.bytea,
  1016: TYPE_OIDS.int8,
  1182: TYPE_OIDS.date,
  1115: TYPE_OIDS.timestamp,
  1185: TYPE_OIDS.timestamptz,
  1187: TYPE_OIDS.interval,
  1231: TYPE_OIDS.numeric,
};

function arrayParser(arrayOid: number, elementOid: number): TextParser {
  const element = SCALAR_PARSERS[elementOid]!;
  return (text) => pgliteTypes.arrayParser(text, element, arrayOid);
}

/** All overridden parsers, scalars and their arrays, keyed by oid. */
export const TEXT_PARSERS: Readonly<Record<number, TextParser>> = {
  ...SCALAR_PARSERS,
  ...Object.fromEntries(Object.entries(ARRAY_ELEMENTS).map(([array, element]) => [array, arrayParser(Number(array), element)])),
};

/** node-postgres `types` option: our overrides, the driver's defaults for everything else. */
export const pgCustomTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if ((format ?? 'text') === 'text') {
      const parser = TEXT_PARSERS[oid];
      if (parser) return parser;
    }
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
