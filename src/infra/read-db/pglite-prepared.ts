import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';
import { Parser } from 'pg-protocol/dist/parser.js';
import type { QueryResult } from './port.ts';

/**
 * Named prepared statements for PGlite. `PGlite.query` parses, describes, binds, describes and
 * executes every statement anew, six calls into the WebAssembly module plus parse analysis each time:
 * about 0.5 ms for a one-row lookup, most of a small request's cost (docs/benchmarks.md). Here a
 * statement is parsed once under a name; after that one call sends Bind, Describe, Execute and Sync.
 *
 * PostgreSQL plans a prepared statement for its parameters five times, then keeps a generic plan
 * when that costs no more; planning was half of a one-row join's time. A generic plan is made for the
 * tables' size at that moment, and PGlite runs no autovacuum whose statistics would invalidate it, so
 * a plan made while a table was small (a rebuild fills tables fast) could outlive its fitness: every
 * statement is parsed and planned afresh after REPREPARE_AFTER executions. PostgreSQL re-analyses a
 * statement itself when a table it uses is altered, dropped or renamed (a rebuild's swap); one whose
 * result columns changed fails with 0A000 and is parsed again.
 */

/** Statements kept per database; the least recently used one is closed beyond this. */
const MAX_STATEMENTS = 256;
/** Read and write statements; anything else (DDL, SET, SAVEPOINT, VACUUM, …) goes through PGlite's own path. */
const PREPARABLE = /^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;
const CACHED_PLAN_CHANGED = '0A000';
/** Executions of one statement before it is parsed and planned again (about 1 µs of planning each, amortised). */
export const REPREPARE_AFTER = 1_000;

interface Statement {
  name: string;
  paramTypes: number[];
  executions: number;
}

interface BackendMessage {
  name: string;
}
interface ParameterDescription extends BackendMessage { dataTypeIDs: number[] }
interface RowDescription extends BackendMessage { fields: Array<{ name: string; dataTypeID: number }> }
interface DataRow extends BackendMessage { fields: Array<string | null> }
interface CommandComplete extends BackendMessage { text: string }

type ValueParser = (value: string, typeId: number) => unknown;
type Serializer = (value: unknown) => string;

/** The parts of PGlite this uses beyond its documented API (its own `query` is built on them). */
interface PGliteInternals {
  parsers: Record<number, ValueParser>;
  serializers: Record<number, Serializer>;
  execProtocolRawStream(message: Uint8Array, options: { syncToFs: boolean; onRawData: (bytes: Uint8Array) => void }): Promise<void>;
  syncToFs(): Promise<void>;
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
}

export function isPreparable(sql: string): boolean {
  return PREPARABLE.test(sql);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class PreparedStatements {
  private readonly pg: PGliteInternals;
  /** By SQL text, least recently used first. */
  private readonly statements = new Map<string, Statement>();
  /** Evicted statements, closed with the next message sent. */
  private toClose: string[] = [];
  private counter = 0;

  constructor(pg: PGlite) {
    this.pg = pg as unknown as PGliteInternals;
  }

  /** Runs `sql` outside a transaction: waits for a running transaction, as `PGlite.query` does. */
  query<Row>(sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> {
    return this.pg._runExclusiveTransaction(async () => {
      const result = await this.retryingChangedPlan(sql, params);
      await this.pg.syncToFs();
      return result as QueryResult<Row>;
    });
  }

  /** Runs `sql` inside the transaction the caller holds (PGlite's transaction mutex is taken). */
  async inTransaction<Row>(sql: string, params: readonly unknown[]): Promise<QueryResult<Row>> {
    return await this.run(sql, params) as QueryResult<Row>;
  }

  private async retryingChangedPlan(sql: string, params: readonly unknown[]): Promise<QueryResult<unknown>> {
    try {
      return await this.run(sql, params);
    } catch (error) {
      if ((error as { code?: string }).code !== CACHED_PLAN_CHANGED) throw error;
      return await this.run(sql, params); // run() forgot the statement: this parses it again
    }
  }

  private run(sql: string, params: readonly unknown[]): Promise<QueryResult<unknown>> {
    return this.pg._runExclusiveQuery(async () => {
      let statement = this.statements.get(sql);
      if (statement && statement.executions >= REPREPARE_AFTER) {
        this.forget(sql);
        statement = undefined;
      }
      statement ??= await this.prepare(sql);
      statement.executions++;
      this.statements.delete(sql);
      this.statements.set(sql, statement);
      const values = params.map((value, i) => {
        if (value === null || value === undefined) return null;
        const serializer = this.pg.serializers[statement.paramTypes[i]!];
        return serializer ? serializer(value) : String(value);
      });
      try {
        const messages = await this.exchange(concat([
          ...this.closing(),
          serialize.bind({ statement: statement.name, values }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]));
        return this.resultOf(messages);
      } catch (error) {
        if ((error as { code?: string }).code === CACHED_PLAN_CHANGED) this.forget(sql);
        throw error;
      }
    });
  }

  private async prepare(sql: string): Promise<Statement> {
    const name = `evident_${++this.counter}`;
    const messages = await this.exchange(concat([
      ...this.closing(),
      serialize.parse({ name, text: sql, types: [] }),
      serialize.describe({ type: 'S', name }),
      serialize.sync(),
    ]));
    const description = messages.find((m): m is ParameterDescription => m.name === 'parameterDescription');
    const statement = { name, paramTypes: description?.dataTypeIDs ?? [], executions: 0 };
    this.statements.set(sql, statement);
    while (this.statements.size > MAX_STATEMENTS) this.forget(this.statements.keys().next().value!);
    return statement;
  }

  /**
   * One round trip into PostgreSQL, its answer parsed by pg-protocol as it is written out: PGlite's
   * own path parses it too, copying every field into a fresh buffer before decoding it, and here the
   * answer is all this needs. Throws the first error PostgreSQL sent; the Sync at the end of every
   * message makes it skip the rest and answer ReadyForQuery.
   */
  private async exchange(message: Uint8Array): Promise<BackendMessage[]> {
    const messages: BackendMessage[] = [];
    let failure: BackendMessage | undefined;
    const parser = new Parser();
    await this.pg.execProtocolRawStream(message, {
      syncToFs: false,
      // A view of WebAssembly memory that the next write reuses: the parser may keep a partial message.
      onRawData: (bytes) => parser.parse(Buffer.from(bytes), (received) => {
        if (received.name === 'error') failure ??= received;
        else messages.push(received);
      }),
    });
    if (failure) throw failure;
    return messages;
  }

  private forget(sql: string): void {
    const statement = this.statements.get(sql);
    if (!statement) return;
    this.statements.delete(sql);
    this.toClose.push(statement.name);
  }

  private closing(): Uint8Array[] {
    if (this.toClose.length === 0) return [];
    const messages = this.toClose.map((name) => serialize.close({ type: 'S', name }));
    this.toClose = [];
    return messages;
  }

  /** Rows as objects keyed by column name, values parsed by type as `PGlite.query` parses them. */
  private resultOf(messages: BackendMessage[]): QueryResult<unknown> {
    let names: string[] = [];
    let types: number[] = [];
    // The parser of each column, found once per result rather than once per value.
    let parsers: Array<ValueParser | undefined> = [];
    const rows: Array<Record<string, unknown>> = [];
    let rowCount: number | null = null;
    for (const message of messages) {
      if (message.name === 'rowDescription') {
        const { fields } = message as RowDescription;
        names = fields.map((field) => field.name);
        types = fields.map((field) => field.dataTypeID);
        parsers = types.map((type) => this.pg.parsers[type]);
      } else if (message.name === 'dataRow') {
        const values = (message as DataRow).fields;
        const row: Record<string, unknown> = {};
        for (let i = 0; i < values.length; i++) {
          const value = values[i] ?? null;
          const parser = parsers[i];
          row[names[i]!] = value === null ? null : parser ? parser(value, types[i]!) : value;
        }
        rows.push(row);
      } else if (message.name === 'commandComplete') {
        // "SELECT 2", "UPDATE 3", "INSERT 0 5": the last word is the row count.
        const count = Number.parseInt((message as CommandComplete).text.split(' ').at(-1)!, 10);
        if (!Number.isNaN(count)) rowCount = count;
      }
    }
    return { rows, rowCount: rowCount ?? rows.length };
  }
}
