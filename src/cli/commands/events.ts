import type { Command } from 'commander';
import type { EventStore, RecordedEvent } from '../../infra/event-store/port.ts';
import { collect, isoTime, position, positiveInt } from '../args.ts';
import type { CliContext } from '../context.ts';
import { notFound, usageError } from '../errors.ts';
import { toJson } from '../output.ts';

interface EventsOptions {
  stream?: string;
  type?: string[];
  streamPrefix?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  after?: bigint;
  before?: bigint;
  limit: number;
  follow?: boolean;
  raw?: boolean;
}

const PAGE = 500;

/** An event as printed: positions and revisions as strings. */
export function eventView(event: RecordedEvent) {
  return {
    position: event.position.toString(), id: event.id, stream: event.stream, revision: event.revision.toString(),
    type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata,
    ...(event.erasedFields?.length ? { erasedFields: event.erasedFields } : {}),
  };
}

function eventLine(event: RecordedEvent): string {
  return [event.position.toString(), event.metadata.occurredAt, event.type, event.stream, `actor=${event.metadata.actorId ?? '-'}`, toJson(event.data)].join('  ');
}

function matcher(options: EventsOptions): (event: RecordedEvent) => boolean {
  const since = options.since?.getTime();
  const until = options.until?.getTime();
  return (event) => {
    if (options.type && !options.type.includes(event.type)) return false;
    if (options.stream !== undefined && event.stream !== options.stream) return false;
    if (options.streamPrefix !== undefined && !event.stream.startsWith(options.streamPrefix)) return false;
    if (options.actor !== undefined && event.metadata.actorId !== options.actor) return false;
    if (options.after !== undefined && event.position <= options.after) return false;
    if (options.before !== undefined && event.position >= options.before) return false;
    const at = Date.parse(event.metadata.occurredAt);
    if (since !== undefined && !(at >= since)) return false;
    if (until !== undefined && !(at <= until)) return false;
    return true;
  };
}

/** The decrypting store, or (with --raw, or without a master key) the log as stored. */
async function source(ctx: CliContext, raw: boolean): Promise<EventStore> {
  const log = await ctx.log();
  if (raw) return log;
  if (!ctx.masterKey()) {
    ctx.out.note('note: no master key (MASTER_KEY or DATA_DIR/master.key): personal fields are shown as stored, encrypted');
    return log;
  }
  return ctx.store();
}

async function list(store: EventStore, options: EventsOptions): Promise<{ events: RecordedEvent[]; more: boolean }> {
  const matches = matcher(options);
  const events: RecordedEvent[] = [];
  if (options.stream !== undefined) {
    const all = await store.readStream(options.stream);
    if (all.length === 0) throw notFound(`No stream named "${options.stream}"`);
    const selected = all.filter(matches);
    return { events: selected.slice(0, options.limit), more: selected.length > options.limit };
  }
  const filter = { eventTypes: options.type, streamPrefix: options.streamPrefix };
  let after = options.after ?? 0n;
  for (;;) {
    const page = await store.readAll({ after, maxCount: PAGE, filter });
    for (const event of page) {
      if (options.before !== undefined && event.position >= options.before) return { events, more: false };
      if (!matches(event)) continue;
      if (events.length === options.limit) return { events, more: true };
      events.push(event);
    }
    if (page.length < PAGE) return { events, more: false };
    after = page.at(-1)!.position;
  }
}

/** Tails the log from `--after` (default: its head) until Ctrl-C, `--before`, or an explicit `--limit`. */
async function follow(ctx: CliContext, store: EventStore, options: EventsOptions, limit: number | undefined): Promise<void> {
  const matches = matcher({ ...options, after: undefined });
  const after = options.after ?? (await store.headPosition());
  const subscription = store.subscribeToAll({
    after, filter: { eventTypes: options.type, streamPrefix: options.stream ?? options.streamPrefix },
  });
  const stop = () => void subscription.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  ctx.out.note(`following the log after position ${after} (Ctrl-C to stop)`);
  let printed = 0;
  try {
    for await (const event of subscription) {
      if (options.before !== undefined && event.position >= options.before) break;
      if (!matches(event)) continue;
      ctx.out.item(eventView(event), () => eventLine(event));
      if (limit !== undefined && ++printed >= limit) break;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await subscription.close();
  }
}

export function register(program: Command, ctx: CliContext): void {
  const command = program.command('events')
    .description('browse the log ($all, or one stream); personal fields decrypted, or shown as erased')
    .option('--stream <stream>', 'one stream instead of $all')
    .option('--type <type>', 'only events of this type (repeatable)', collect)
    .option('--stream-prefix <prefix>', 'only streams whose name starts with this')
    .option('--actor <id>', 'only events recorded with this actor id')
    .option('--since <time>', 'only events that occurred at or after this ISO-8601 time', isoTime)
    .option('--until <time>', 'only events that occurred at or before this ISO-8601 time', isoTime)
    .option('--after <position>', 'only events after this log position', position)
    .option('--before <position>', 'only events before this log position', position)
    .option('--limit <n>', 'at most this many events', positiveInt, 100)
    .option('--follow', 'tail the log: print matching events as they are appended, until Ctrl-C (NDJSON with --json)')
    .option('--raw', 'show events as stored: personal fields encrypted, not upcast');
  command.action(async (options: EventsOptions) => {
    if (options.stream !== undefined && options.streamPrefix !== undefined) throw usageError('Give --stream or --stream-prefix, not both');
    if (options.since && options.until && options.since > options.until) throw usageError('--since is later than --until');
    const store = await source(ctx, options.raw === true);
    if (options.follow) {
      const explicit = command.getOptionValueSource('limit') !== 'default';
      await follow(ctx, store, options, explicit ? options.limit : undefined);
      return;
    }
    const { events, more } = await list(store, options);
    const next = more ? events.at(-1)!.position.toString() : null;
    ctx.out.result({ events: events.map(eventView), next }, () => {
      for (const event of events) ctx.out.line(eventLine(event));
      if (events.length === 0) ctx.out.note('no events match');
      if (next) ctx.out.note(`more events follow: --after ${next}`);
    });
  });
}
