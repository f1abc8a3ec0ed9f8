import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { EventStore } from '../../infra/event-store/port.ts';
import { migrate } from '../../infra/read-db/migrations.ts';
import { PgliteReadDb } from '../../infra/read-db/pglite-read-db.ts';
import { MIGRATIONS_DIR } from '../../stores.ts';
import { isoTime } from '../args.ts';
import type { CliContext } from '../context.ts';
import { usageError } from '../errors.ts';
import { buildInPlace } from '../read-models.ts';

/** Written into the directory: what it holds, so a later `--sql` against it can reuse it. */
const MARKER = 'evident-as-of.json';
const PAGE = 1000;

interface Marker {
  position: string;
  point: string;
  createdAt: string;
}

/** The last position before the first event that occurred after `time` (the log's order is the truth). */
async function positionAt(log: EventStore, time: Date): Promise<bigint> {
  let last = 0n;
  let after = 0n;
  for (;;) {
    const page = await log.readAll({ after, maxCount: PAGE });
    for (const event of page) {
      if (Date.parse(event.metadata.occurredAt) > time.getTime()) return last;
      last = event.position;
    }
    if (page.length < PAGE) return last;
    after = page.at(-1)!.position;
  }
}

function readMarker(dir: string): Marker | null {
  const path = join(dir, MARKER);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as Marker;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('as-of')
    .description('materialise every read model as it was at a log position or time into a separate PGlite directory (the live ones are untouched)')
    .argument('<point>', 'a log position (events up to and including it), or an ISO-8601 time (events that occurred up to then)')
    .requiredOption('--out <dir>', 'an empty or new directory for the PGlite database (or one an earlier as-of at the same point filled)')
    .option('--sql <query>', 'run one read-only query against it and print the rows')
    .action(async (point: string, options: { out: string; sql?: string }) => {
      const dir = resolve(options.out);
      const log = await ctx.log();
      let position: bigint;
      if (/^\d+$/.test(point)) {
        if (point.length > 19) throw usageError(`"${point}" is not a log position`);
        position = BigInt(point);
      } else {
        let time: Date;
        try {
          time = isoTime(point);
        } catch {
          throw usageError(`"${point}" is neither a log position nor an ISO-8601 time such as 2026-12-01T10:00:00Z`);
        }
        position = await positionAt(log, time);
      }
      const head = await log.headPosition();
      if (position > head) throw usageError(`Position ${position} is past the head of the log (${head})`);

      const existing = existsSync(dir) ? readMarker(dir) : null;
      if (existing && existing.position !== position.toString()) {
        throw usageError(`${dir} holds the read models as of position ${existing.position}, not ${position}: give another --out`);
      }
      if (!existing && existsSync(dir) && readdirSync(dir).length > 0) throw usageError(`${dir} is not empty: give a new or empty directory`);

      const db = await PgliteReadDb.open({ dataDir: dir });
      ctx.onClose(() => db.close());
      if (!existing) {
        await migrate(db, MIGRATIONS_DIR);
        const store = await ctx.store();
        for (const projection of await ctx.readModels()) {
          await buildInPlace({ store, db, projection, batchSize: ctx.config.projectionBatchSize, upTo: position });
        }
        const marker: Marker = { position: position.toString(), point, createdAt: new Date().toISOString() };
        writeFileSync(join(dir, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
      }

      let rows: Array<Record<string, unknown>> | undefined;
      if (options.sql !== undefined) {
        const sql = options.sql;
        try {
          rows = await db.transaction(async (tx) => {
            await tx.exec('SET TRANSACTION READ ONLY');
            return (await tx.query<Record<string, unknown>>(sql)).rows;
          });
        } catch (error) {
          throw usageError(`The query failed: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      ctx.out.result({ directory: dir, position: position.toString(), ...(rows ? { rows } : {}) }, () => {
        ctx.out.line(`read models as of position ${position} in ${dir}`);
        if (rows) ctx.out.table(rows);
        else {
          ctx.out.line('query them with:');
          ctx.out.line(`  npx evident as-of ${position} --out ${dir} --sql "SELECT conversation_id, title FROM conversations"`);
          ctx.out.line(`or open the directory with PGlite: new PGlite('${dir}')`);
        }
      });
    });
}
