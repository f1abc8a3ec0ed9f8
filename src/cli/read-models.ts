// Read models built from the log somewhere other than the live tables (replay --compare, as-of),
// with the projections' own handlers and the rebuild path of the processor core.
import { loadAggregate } from '../commands/execute-command.ts';
import { parkingDecider, parkingStream } from '../domain/projection/parking.ts';
import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { ReadDb, SqlExecutor } from '../infra/read-db/port.ts';
import { ProjectionCheckpoints } from '../projections/processor/checkpoints.ts';
import { ProjectionHandlerError } from '../projections/projection-worker.ts';
import type { Projection } from '../projections/projection.ts';
import { quoteIdent, rebuildTables, replayInto } from '../projections/rebuild.ts';
import { sanitizeEvent } from '../projections/sanitize-event.ts';

async function parkedEventIds(store: EventStore, projection: string): Promise<ReadonlySet<string>> {
  return (await loadAggregate(store, parkingDecider, parkingStream(projection))).state.parked;
}

/** Applies one event as the projection's worker does: only its types, never a parked event. */
function applier(projection: Projection, parked: ReadonlySet<string>) {
  const types = new Set(projection.eventTypes);
  return async (event: RecordedEvent, tx: SqlExecutor) => {
    if (!types.has(event.type) || parked.has(event.id)) return;
    try {
      await projection.handle(sanitizeEvent(event), tx);
    } catch (error) {
      throw new ProjectionHandlerError(projection.name, event, error);
    }
  };
}

export interface BuildOptions {
  store: EventStore;
  db: ReadDb;
  projection: Projection;
  batchSize: number;
  /** Only events at or before this position. */
  upTo?: bigint;
}

/** Builds the projection's tables into `schema` (created afresh) of `db`; returns the position they stand at. */
export async function buildIntoSchema(options: BuildOptions & { schema: string }): Promise<bigint> {
  const { store, projection } = options;
  const parked = await parkedEventIds(store, projection.name);
  return replayInto({
    db: options.db, store, schema: options.schema, tables: projection.tables, eventTypes: projection.eventTypes,
    batchSize: options.batchSize, upTo: options.upTo, apply: applier(projection, parked),
    isParked: (id) => parked.has(id), checkStillWanted: () => {},
  });
}

/** Builds the projection into the public tables of a fresh, migrated `db`, with its checkpoint, as the runner would have left it at `upTo`. */
export async function buildInPlace(options: BuildOptions): Promise<bigint> {
  const { store, db, projection } = options;
  const parked = await parkedEventIds(store, projection.name);
  const checkpoints = new ProjectionCheckpoints(db);
  const { position } = await checkpoints.load(projection.name);
  return rebuildTables({
    db, store, projection: projection.name, tables: projection.tables, eventTypes: projection.eventTypes,
    batchSize: options.batchSize, upTo: options.upTo, apply: applier(projection, parked),
    isParked: (id) => parked.has(id), checkStillWanted: () => {},
    beforeSwap: (tx) => checkpoints.lock(tx, projection.name, BigInt(position)),
    afterSwap: (tx, at) => checkpoints.advance(tx, projection.name, at),
  });
}

export interface TableHash {
  rows: number;
  /** md5 over the sorted md5s of every row's text: equal contents give equal hashes, whatever the physical order. */
  hash: string;
}

export async function tableHash(db: ReadDb, schema: string, table: string): Promise<TableHash> {
  const { rows } = await db.query<{ rows: string; hash: string }>(
    `SELECT count(*)::text AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS hash
       FROM (SELECT md5(t::text) AS h FROM ${quoteIdent(schema)}.${quoteIdent(table)} t) hashed`);
  return { rows: Number(rows[0]!.rows), hash: rows[0]!.hash };
}

export async function primaryKey(db: ReadDb, schema: string, table: string): Promise<string[]> {
  const { rows } = await db.query<{ column: string }>(
    `SELECT a.attname AS column FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`, [`${quoteIdent(schema)}.${quoteIdent(table)}`]);
  return rows.map((row) => row.column);
}

/** Each row's primary key (as JSON text) and the md5 of its text. */
export async function rowHashes(db: ReadDb, schema: string, table: string, key: readonly string[]): Promise<Map<string, string>> {
  const keyExpression = key.length > 0 ? `json_build_array(${key.map((c) => `t.${quoteIdent(c)}`).join(', ')})::text` : 't::text';
  const { rows } = await db.query<{ key: string; h: string }>(
    `SELECT ${keyExpression} AS key, md5(t::text) AS h FROM ${quoteIdent(schema)}.${quoteIdent(table)} t`);
  return new Map(rows.map((row) => [row.key, row.h]));
}

export interface RowDifference {
  key: string;
  /** changed: both have the row, with other values; live-only / scratch-only: one side lacks it. */
  kind: 'changed' | 'live-only' | 'scratch-only';
}

export function differences(live: Map<string, string>, scratch: Map<string, string>, max: number): RowDifference[] {
  const found: RowDifference[] = [];
  const keys = [...new Set([...live.keys(), ...scratch.keys()])].sort();
  for (const key of keys) {
    if (found.length >= max) break;
    const a = live.get(key);
    const b = scratch.get(key);
    if (a === b) continue;
    found.push({ key, kind: a === undefined ? 'scratch-only' : b === undefined ? 'live-only' : 'changed' });
  }
  return found;
}
