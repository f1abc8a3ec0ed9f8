import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createProjectionCommands } from '../../commands/projections.ts';
import { migrate } from '../../infra/read-db/migrations.ts';
import { PgliteReadDb } from '../../infra/read-db/pglite-read-db.ts';
import type { ReadDb } from '../../infra/read-db/port.ts';
import type { Projection } from '../../projections/projection.ts';
import { ProjectionRunner } from '../../projections/runner.ts';
import { quoteIdent } from '../../projections/rebuild.ts';
import { MIGRATIONS_DIR } from '../../stores.ts';
import type { CliContext } from '../context.ts';
import { EXIT, notFound, unavailable, usageError } from '../errors.ts';
import { resolveOperator } from '../operator.ts';
import { buildIntoSchema, differences, primaryKey, rowHashes, tableHash, type RowDifference } from '../read-models.ts';

const DIFF_KEYS = 10;
const RUNNING_WAIT_MS = 60_000;

/** Tables in the read database that are not a pure function of the log, and why. */
const SKIP_REASONS: Record<string, string> = {
  projection_checkpoints: 'progress of each projection (positions, errors, times), not a read model',
  reactor_checkpoints: 'progress of each reactor, not a read model',
  schema_migrations: 'which migrations ran, not a read model',
};
const OTHER_REASON = 'not written by any projection (kept by a reactor, e.g. the vector indexer: embeddings from a model, not a pure function of the log)';

function select(all: Projection[], names: readonly string[]): Projection[] {
  if (names.length === 0) return all;
  return names.map((name) => {
    const projection = all.find((p) => p.name === name);
    if (!projection) throw notFound(`No projection named "${name}" (there are: ${all.map((p) => p.name).join(', ')})`);
    return projection;
  });
}

export interface TableComparison {
  table: string;
  projection: string;
  /** The live projection's checkpoint: the scratch copy is built up to it. */
  position: string;
  liveRows: number;
  scratchRows: number;
  liveHash: string;
  scratchHash: string;
  equal: boolean;
  differences?: RowDifference[];
}

/** A scratch read database: a schema beside the live tables in PostgreSQL, or a temporary PGlite directory. */
async function openScratch(live: ReadDb): Promise<{ db: ReadDb; schema(projection: string): string; drop(): Promise<void> }> {
  if (live.kind === 'postgres') {
    const base = `evident_scratch_${randomBytes(4).toString('hex')}`;
    const schemas: string[] = [];
    return {
      db: live,
      schema(projection) {
        const name = `${base}_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
        schemas.push(name);
        return name;
      },
      async drop() {
        for (const name of schemas) await live.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'evident-replay-'));
  try {
    const db = await PgliteReadDb.open({ dataDir: dir });
    await migrate(db, MIGRATIONS_DIR);
    return {
      db,
      schema: (projection) => `scratch_${projection.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63),
      async drop() {
        await db.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function compare(ctx: CliContext, projections: Projection[], all: boolean, diff: boolean): Promise<void> {
  const live = await ctx.readDb();
  const store = await ctx.store();
  const { rows: checkpointRows } = await live.query<{ name: string; position: string }>('SELECT name, position::text AS position FROM projection_checkpoints');
  const checkpoints = new Map(checkpointRows.map((row) => [row.name, BigInt(row.position)]));
  const scratch = await openScratch(live);
  const tables: TableComparison[] = [];
  try {
    for (const projection of projections) {
      const upTo = checkpoints.get(projection.name) ?? 0n;
      const schema = scratch.schema(projection.name);
      await buildIntoSchema({ store, db: scratch.db, schema, projection, batchSize: ctx.config.projectionBatchSize, upTo });
      for (const table of projection.tables) {
        const a = await tableHash(live, 'public', table);
        const b = await tableHash(scratch.db, schema, table);
        const row: TableComparison = {
          table, projection: projection.name, position: upTo.toString(), liveRows: a.rows, scratchRows: b.rows,
          liveHash: a.hash, scratchHash: b.hash, equal: a.rows === b.rows && a.hash === b.hash,
        };
        if (diff && !row.equal) {
          const key = await primaryKey(live, 'public', table);
          row.differences = differences(await rowHashes(live, 'public', table, key), await rowHashes(scratch.db, schema, table, key), DIFF_KEYS);
        }
        tables.push(row);
      }
    }
  } finally {
    await scratch.drop();
  }
  const compared = new Set(tables.map((t) => t.table));
  const skipped = all
    ? (await live.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    )).rows.map((r) => r.table_name).filter((t) => !compared.has(t)).map((table) => ({ table, reason: SKIP_REASONS[table] ?? OTHER_REASON }))
    : [];
  const equal = tables.every((t) => t.equal);
  ctx.out.result({ equal, scratch: live.kind === 'postgres' ? 'postgres-schema' : 'pglite-directory', tables, skipped }, () => {
    ctx.out.table(tables.map((t) => ({
      table: t.table, projection: t.projection, 'at position': t.position, 'live rows': t.liveRows, 'scratch rows': t.scratchRows,
      hash: t.equal ? 'equal' : 'DIFFERS',
    })));
    for (const t of tables) {
      for (const d of t.differences ?? []) ctx.out.line(`  ${t.table} ${d.kind}: ${d.key}`);
    }
    for (const s of skipped) ctx.out.line(`skipped ${s.table}: ${s.reason}`);
    ctx.out.line(equal ? 'The live read models equal a replay of the log.' : 'DIFFERENCES: the live read models do not equal a replay of the log.');
  });
  if (!equal) process.exitCode = EXIT.checkFailed;
}

/** Rebuilds live read models through the projection runner's own rebuild (fresh tables swapped in with the checkpoint). */
async function rebuild(ctx: CliContext, all: Projection[], selected: Projection[], as: string | undefined): Promise<void> {
  if (as === undefined) throw usageError('replay without --compare rebuilds the live read models: name the operator with --as <admin email or id>');
  const operator = await resolveOperator(ctx, as);
  const readDb = await ctx.readDb();
  const store = await ctx.store();
  const runner = new ProjectionRunner({
    store, db: readDb, projections: all, logger: ctx.logger, batchSize: ctx.config.projectionBatchSize,
  });
  await runner.start();
  ctx.onClose(() => runner.stop());
  const results: Array<{ projection: string; position: string; rows: Record<string, number> }> = [];
  for (const projection of selected) {
    const deadline = Date.now() + RUNNING_WAIT_MS;
    for (;;) {
      const state = (await runner.status()).find((s) => s.name === projection.name)!.state;
      if (state === 'running' || state === 'failed') break;
      if (Date.now() > deadline) {
        throw unavailable(`Projection "${projection.name}" is run by another instance (a running server): rebuild it there, or stop it first`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Through the projection commands, so the rebuild is recorded in the log with the operator as actor.
    await createProjectionCommands({ store, projections: runner }).rebuild({ projection: projection.name }, ctx.commandContext(operator.userId));
    const position = (await runner.status()).find((s) => s.name === projection.name)!.position.toString();
    const rows: Record<string, number> = {};
    for (const table of projection.tables) rows[table] = (await tableHash(readDb, 'public', table)).rows;
    results.push({ projection: projection.name, position, rows });
  }
  ctx.out.result({ rebuilt: results }, () => {
    for (const r of results) {
      ctx.out.line(`rebuilt ${r.projection} at position ${r.position}: ${Object.entries(r.rows).map(([t, n]) => `${t} ${n} rows`).join(', ')}`);
    }
  });
}

export function register(program: Command, ctx: CliContext): void {
  program.command('replay')
    .description('rebuild read models from the log; with --compare, build them into a scratch place and compare them with the live ones, table by table (exit 1 on any difference)')
    .argument('[projection...]', 'projections to replay (default: all)')
    .option('--compare', 'do not touch the live read models: build scratch copies and compare content hashes')
    .option('--diff', 'with --compare: list the first differing primary keys of each table that differs')
    .option('--as <admin>', 'without --compare: the operator (an active admin, by email or id) recorded as the rebuild\'s actor')
    .action(async (names: string[], options: { compare?: boolean; diff?: boolean; as?: string }) => {
      const all = await ctx.readModels();
      const selected = select(all, names);
      if (options.compare) await compare(ctx, selected, names.length === 0, options.diff === true);
      else await rebuild(ctx, all, selected, options.as);
    });
}
