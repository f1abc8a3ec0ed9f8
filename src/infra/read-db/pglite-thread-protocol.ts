import { ReadDbClosedError, TransactionAbortedError } from './errors.ts';
import type { QueryResult } from './port.ts';

/** Messages between PgliteThreadReadDb (the server's thread) and pglite-thread-worker.ts. */

export type ThreadRequest =
  | { id: number; op: 'query'; tx: number | null; sql: string; params: readonly unknown[] }
  | { id: number; op: 'exec'; tx: number | null; sql: string }
  | { id: number; op: 'begin' }
  | { id: number; op: 'commit' | 'rollback'; tx: number }
  | { id: number; op: 'scrub'; tables: readonly string[] }
  | { id: number; op: 'close' };

/** The reply to request `id`; id 0 answers the open that starting the worker asked for. */
export type ThreadReply =
  | { id: number; ok: true; result?: QueryResult<unknown> }
  | { id: number; ok: false; error: WireError };

/** An error as it crosses threads: structured clone keeps only an Error's name and message. */
export interface WireError {
  name: string;
  message: string;
  /** PostgreSQL's fields (code, detail, constraint, …): what callers inspect. */
  fields: Record<string, string | number | boolean | null>;
}

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: WireError['fields'] = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value as string | number | boolean | null;
  }
  return { name: error.name, message: error.message, fields };
}

export function fromWireError(wire: WireError): Error {
  if (wire.name === 'TransactionAbortedError') return new TransactionAbortedError();
  if (wire.name === 'ReadDbClosedError') return new ReadDbClosedError();
  const error = Object.assign(new Error(wire.message), wire.fields);
  error.name = wire.name;
  return error;
}
