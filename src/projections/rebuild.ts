import type { EventStore, RecordedEvent } from '../infra/event-store/port.ts';
import type { ReadDb, SqlExecutor } from '../infra/read-db/port.ts';
import { EventUpcastError } from '../infra/event-store/upcasting-event-store.ts';
import { noteTablesChanged } from './read-model-changes.ts';

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The schema a rebuild of `projection` writes into. */
export function rebuildSchemaName(projection: string): string {
  return `rebuild_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

export interface RebuildOptions {
  db: ReadDb;
  store: EventStore;
  projection: string;
  tables: readonly string[];
  eventTypes: readonly string[];
  batchSize: number;
  /** Applies one event into the rebuild schema (the search_path points there). */
  apply(event: RecordedEvent, tx: SqlExecutor): Promise<void>;
  /** Optional: applies a batch at once (Projection.handleBatch); on failure the batch is applied again with `apply`, one by one. */
  applyAll?(events: readonly RecordedEvent[], tx: SqlExecutor): Promise<void>;
  /** Events an operator parked are skipped, also when they cannot even be read (upcast). */
  isParked(eventId: string): boolean;
  /** Throws when the rebuild must be abandoned (runner stopping, lease lost). */
  checkStillWanted(): void;
  /** Runs inside the swap transaction before anything is swapped: lock and check the checkpoint. */
  beforeSwap(tx: SqlExecutor): Promise<void>;
  /** Runs inside the swap transaction after the swap: store the new checkpoint. */
  afterSwap(tx: SqlExecutor, position: bigint): Promise<void>;
  /** Replays only events at or before this position (time travel); default the whole log. */
  upTo?: bigint;
}

export interface ReplayIntoOptions extends Omit<RebuildOptions, 'projection' | 'beforeSwap' | 'afterSwap'> {
  /** The schema the copies of `tables` are created in (dropped first if it exists), unquoted. */
  schema: string;
}

/**
 * Replays the log into copies of the projection's tables in schema rebuild_<name> (handlers write
 * unqualified names, redirected by search_path), then swaps them in with the checkpoint in one
 * transaction. Readers of the public tables see the old model until that commit. Returns the
 * position the rebuilt model stands at.
 */
export async function rebuildTables(options: RebuildOptions): Promise<bigint> {
  const { db } = options;
  const schema = quoteIdent(rebuildSchemaName(options.projection));
  try {
    const position = await replayInto({ ...options, schema: rebuildSchemaName(options.projection) });
    options.checkStillWanted();
    await db.transaction(async (tx) => {
      await options.beforeSwap(tx);
      await swap(tx, options.projection, options.tables);
      await options.afterSwap(tx, position);
    });
    noteTablesChanged(options.tables);
    return position;
  } catch (error) {
    await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => { /* the next rebuild drops it first */ });
    throw error;
  }
}

/**
 * Creates empty copies of `tables` in `schema` (LIKE public.<table>) and replays the log into them,
 * the handlers' unqualified names redirected there by the search_path. Returns the position the
 * copies stand at. The schema is left for the caller to swap in, compare or drop.
 */
export async function replayInto(options: ReplayIntoOptions): Promise<bigint> {
  const { db, store, batchSize, upTo } = options;
  const schema = quoteIdent(options.schema);
  const tables = options.tables.map(quoteIdent);
  const eventTypes = [...options.eventTypes];
  await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const deferred = await db.transaction(async (tx) => {
    await tx.exec(`CREATE SCHEMA ${schema}`);
    for (const table of tables) await tx.exec(`CREATE TABLE ${schema}.${table} (LIKE public.${table} INCLUDING ALL)`);
    return deferSearchIndexes(tx, options.schema);
  });
  let position = 0n;
  for (;;) {
    options.checkStillWanted();
    // Any matching event at or below `head` is visible to the read that follows.
    let head = await store.headPosition();
    if (upTo !== undefined && head > upTo) head = upTo;
    const read = eventTypes.length === 0 ? [] : await readBatch(options, position, batchSize);
    const events = upTo === undefined ? read : read.filter((event) => event.position <= upTo);
    if (events.length === 0) {
      if (head > position) position = head;
      break;
    }
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL search_path TO ${schema}, public`);
      const replayed = events.filter((event) => event.type !== PARKED_PLACEHOLDER);
      if (options.applyAll && replayed.length > 1) {
        // In a savepoint: when the batch fails, it is undone and applied event by event, so the
        // error names the event at fault.
        await tx.exec('SAVEPOINT replay_batch');
        try {
          await options.applyAll(replayed, tx);
          await tx.exec('RELEASE SAVEPOINT replay_batch');
          return;
        } catch {
          await tx.exec('ROLLBACK TO SAVEPOINT replay_batch');
        }
      }
      for (const event of replayed) await options.apply(event, tx);
    });
    position = events.at(-1)!.position;
    if (events.length < read.length) break;
  }
  for (const definition of deferred) await db.exec(definition);
  return position;
}

/**
 * Drops the copies' full-text (GIN) indexes, returning how to create them again: built once over
 * the replayed rows they cost a fraction of keeping them up to date row by row. No handler reads
 * them (handlers find rows by id); pg_indexes gives each definition with its schema and name.
 */
async function deferSearchIndexes(tx: SqlExecutor, schemaName: string): Promise<string[]> {
  const gin = (await tx.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '% USING gin %' ORDER BY indexname`, [schemaName],
  )).rows;
  for (const index of gin) await tx.exec(`DROP INDEX ${quoteIdent(schemaName)}.${quoteIdent(index.indexname)}`);
  return gin.map((index) => index.indexdef);
}

/**
 * The next events after `after`. When one of them cannot be read (upcast) and is parked, the events
 * before it come one by one and the parked one is left out; an unparked one fails the rebuild.
 */
async function readBatch(options: Pick<RebuildOptions, 'store' | 'eventTypes' | 'isParked'>, after: bigint, batchSize: number): Promise<RecordedEvent[]> {
  const filter = { eventTypes: [...options.eventTypes] };
  try {
    return await options.store.readAll({ after, maxCount: batchSize, filter });
  } catch (error) {
    if (!(error instanceof EventUpcastError) || !options.isParked(error.event.id)) throw error;
    const events: RecordedEvent[] = [];
    let position = after;
    for (;;) {
      const [next] = await options.store.readAll({ after: position, maxCount: 1, filter }).catch((e: unknown) => {
        if (e instanceof EventUpcastError && e.event.id === error.event.id) return [];
        throw e;
      });
      if (!next) break;
      events.push(next);
      position = next.position;
    }
    // Stand-in for the parked event, so the loop moves past its position without applying it.
    events.push({ ...error.event, type: PARKED_PLACEHOLDER });
    return events;
  }
}

const PARKED_PLACEHOLDER = '$parked';

/** Replaces the public tables with the rebuilt ones, keeping the original index names. */
async function swap(tx: SqlExecutor, projection: string, tableNames: readonly string[]): Promise<void> {
  const schemaName = rebuildSchemaName(projection);
  const schema = quoteIdent(schemaName);
  if (tableNames.length === 0) {
    await tx.exec(`DROP SCHEMA ${schema}`);
    return;
  }
  const indexes = async (inSchema: string) => (await tx.query<{ indexname: string; indexdef: string }>(
    'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2::text[]) ORDER BY indexname',
    [inSchema, [...tableNames]],
  )).rows;
  const before = await indexes('public');
  const rebuilt = await indexes(schemaName);
  const tables = tableNames.map(quoteIdent);
  await tx.exec(`DROP TABLE ${tables.map((t) => `public.${t}`).join(', ')}`);
  for (const table of tables) await tx.exec(`ALTER TABLE ${schema}.${table} SET SCHEMA public`);
  await tx.exec(`DROP SCHEMA ${schema}`);
  // LIKE ... INCLUDING ALL names the copied indexes itself; give them back the names migrations used.
  const renames: Array<[string, string]> = [];
  const unused = [...before];
  for (const index of rebuilt) {
    const key = indexKey(index.indexdef);
    const match = unused.findIndex((old) => indexKey(old.indexdef) === key);
    if (match < 0) continue;
    const [old] = unused.splice(match, 1);
    if (old!.indexname !== index.indexname) renames.push([index.indexname, old!.indexname]);
  }
  for (const [i, [from]] of renames.entries()) {
    await tx.exec(`ALTER INDEX public.${quoteIdent(from)} RENAME TO ${quoteIdent(`evident_rebuild_tmp_${i}`)}`);
  }
  for (const [i, [, to]] of renames.entries()) {
    await tx.exec(`ALTER INDEX public.${quoteIdent(`evident_rebuild_tmp_${i}`)} RENAME TO ${quoteIdent(to)}`);
  }
}

/** An index definition without its own name and its table's schema, to pair copies with originals. */
function indexKey(indexdef: string): string {
  const match = /^CREATE (UNIQUE )?INDEX (?:"(?:[^"]|"")+"|\S+) ON (ONLY )?(?:(?:"(?:[^"]|"")+"|[^\s.]+)\.)?(.*)$/.exec(indexdef);
  return match ? `${match[1] ?? ''}${match[2] ?? ''}${match[3]}` : indexdef;
}
