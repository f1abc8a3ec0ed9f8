import type { Command } from 'commander';
import type { EventStore } from '../../infra/event-store/port.ts';
import type { ReadDb } from '../../infra/read-db/port.ts';
import type { CliContext } from '../context.ts';

export interface ProcessorStatus {
  name: string;
  kind: 'projection' | 'reactor';
  /** failed: stopped at a poison event; behind: events after its checkpoint; caught-up. */
  state: 'caught-up' | 'behind' | 'failed';
  position: string;
  /** Head position minus checkpoint (an upper bound on PostgreSQL, whose positions may have gaps). */
  lagEvents: number;
  /** Seconds since the first event after the checkpoint occurred; 0 when caught up. */
  lagSeconds: number;
  lastError: string | null;
  failedEventId: string | null;
  failedPosition: string | null;
  updatedAt: string | null;
}

interface CheckpointRow {
  name: string;
  position: string;
  updated_at: Date | string | null;
  last_error?: string | null;
  failed_position?: string | null;
  failed_event_id?: string | null;
}

const iso = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

/** Every projection's and reactor's checkpoint against the head of the log (what GraphQL `projections` shows, and the reactors). */
export async function processorStatus(readDb: ReadDb, log: EventStore, projectionNames: readonly string[]): Promise<ProcessorStatus[]> {
  const projections = (await readDb.query<CheckpointRow>(
    'SELECT name, position::text AS position, updated_at, last_error, failed_position::text AS failed_position, failed_event_id FROM projection_checkpoints',
  )).rows;
  const reactors = (await readDb.query<CheckpointRow>('SELECT name, position::text AS position, updated_at FROM reactor_checkpoints ORDER BY name')).rows;
  const byName = new Map(projections.map((row) => [row.name, row]));
  const rows: Array<[CheckpointRow, 'projection' | 'reactor']> = [
    ...projectionNames.map((name): [CheckpointRow, 'projection'] => [byName.get(name) ?? { name, position: '0', updated_at: null }, 'projection']),
    ...projections.filter((row) => !projectionNames.includes(row.name)).map((row): [CheckpointRow, 'projection'] => [row, 'projection']),
    ...reactors.map((row): [CheckpointRow, 'reactor'] => [row, 'reactor']),
  ];
  const head = await log.headPosition();
  const now = Date.now();
  return Promise.all(rows.map(async ([row, kind]): Promise<ProcessorStatus> => {
    const position = BigInt(row.position);
    let lagEvents = head > position ? Number(head - position) : 0;
    let lagSeconds = 0;
    if (lagEvents > 0) {
      const [next] = await log.readAll({ after: position, maxCount: 1 });
      if (next) lagSeconds = Math.max(0, (now - Date.parse(next.metadata.occurredAt)) / 1000) || 0;
      else lagEvents = 0;
    }
    const failed = row.failed_event_id != null;
    return {
      name: row.name, kind, state: failed ? 'failed' : lagEvents > 0 ? 'behind' : 'caught-up', position: row.position, lagEvents,
      lagSeconds: Math.round(lagSeconds * 10) / 10, lastError: row.last_error ?? null, failedEventId: row.failed_event_id ?? null,
      failedPosition: row.failed_position ?? null, updatedAt: iso(row.updated_at),
    };
  }));
}

export function register(program: Command, ctx: CliContext): void {
  program.command('projections')
    .description('status and lag of every projection and reactor (needs the read database)')
    .action(async () => {
      const readDb = await ctx.readDb();
      const log = await ctx.log();
      const names = (await ctx.readModels()).map((p) => p.name);
      const status = await processorStatus(readDb, log, names);
      const head = (await log.headPosition()).toString();
      ctx.out.result({ head, processors: status }, () => {
        ctx.out.line(`log head: ${head}`);
        ctx.out.table(status.map((s) => ({
          name: s.name, kind: s.kind, state: s.state, position: s.position, 'lag events': s.lagEvents, 'lag s': s.lagSeconds,
          error: s.lastError ? `${s.lastError} (event ${s.failedEventId} at ${s.failedPosition})` : '',
        })));
      });
    });
}
