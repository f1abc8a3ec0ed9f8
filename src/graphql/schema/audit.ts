import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { z } from 'zod';
import { textProblem } from '../../domain/text.ts';
import type { RecordedEvent } from '../../infra/event-store/port.ts';
import { auditRecord, storableTime } from '../../projections/audit-projection.ts';
import { auditPage, matchesAuditFilter, subjectErased, type AuditFilter, type AuditView } from '../../projections/audit-queries.ts';
import { exportPersonalData } from '../../projections/my-data-export.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { mergeStreams } from '../merge-streams.ts';
import { requireViewer } from './accounts.ts';

export const MAX_AUDIT_PAGE_SIZE = 500;
const DEFAULT_AUDIT_PAGE_SIZE = 50;
const MAX_TYPES = 100;
const MAX_INT8 = 2n ** 63n - 1n;

const text = (max: number) => z.string().max(max, `must be at most ${max} characters`)
  .refine((value) => textProblem(value, 'single-line') === null, 'must be one line of valid text without control characters');
const position = z.string().regex(/^\d{1,19}$/, 'must be a log position (a decimal integer)')
  // Zod runs this even when the pattern failed: only judge what is a number.
  .refine((value) => !/^\d{1,19}$/.test(value) || BigInt(value) <= MAX_INT8, 'is beyond the largest log position');

const AuditFilterInput = builder.inputType('AuditFilter', {
  description: 'Every part is optional; events must match all given parts. Ranges are inclusive.',
  fields: (t) => ({
    types: t.stringList({ required: false, description: 'Event types (any of them)', validate: z.array(text(100)).max(MAX_TYPES, `must hold at most ${MAX_TYPES} types`) }),
    streamPrefix: t.string({ required: false, description: 'Streams whose name starts with this, e.g. "conversation-"', validate: text(256) }),
    actorId: t.id({ required: false, validate: text(200) }),
    subjectId: t.id({ required: false, description: 'The person the event is about', validate: text(200) }),
    occurredFrom: t.field({ type: 'DateTime', required: false }),
    occurredTo: t.field({ type: 'DateTime', required: false }),
    fromPosition: t.string({ required: false, validate: position }),
    toPosition: t.string({ required: false, validate: position }),
  }),
});

type FilterArgs = {
  types?: readonly string[] | null; streamPrefix?: string | null; actorId?: string | number | null; subjectId?: string | number | null;
  occurredFrom?: string | null; occurredTo?: string | null; fromPosition?: string | null; toPosition?: string | null;
} | null | undefined;

function toFilter(args: FilterArgs): AuditFilter {
  return {
    types: args?.types ?? null, streamPrefix: args?.streamPrefix ?? null,
    actorId: args?.actorId === null || args?.actorId === undefined ? null : String(args.actorId),
    subjectId: args?.subjectId === null || args?.subjectId === undefined ? null : String(args.subjectId),
    occurredFrom: args?.occurredFrom ? new Date(args.occurredFrom) : null, occurredTo: args?.occurredTo ? new Date(args.occurredTo) : null,
    fromPosition: args?.fromPosition ? BigInt(args.fromPosition) : null, toPosition: args?.toPosition ? BigInt(args.toPosition) : null,
  };
}

export const AuditEvent = builder.objectRef<AuditView>('AuditEvent').implement({
  description: 'One event of the log as the audit read model keeps it: its envelope, who it is about, and non-personal facts. '
    + 'Personal fields are never shown here (only their names); exportMyData has your own in full.',
  fields: (t) => ({
    position: t.string({ description: 'Its place in the log ($all), a decimal integer', resolve: (e) => e.position.toString() }),
    eventId: t.exposeID('eventId'),
    type: t.exposeString('type'),
    schemaVersion: t.exposeInt('schemaVersion'),
    stream: t.exposeString('stream'),
    occurredAt: t.field({
      type: 'DateTime', nullable: true, description: 'When it happened; null only for a corrupt event whose time cannot be stored',
      resolve: (e) => (e.occurredAt === null ? null : storableTime(e.occurredAt)),
    }),
    actorId: t.id({ nullable: true, description: 'Who did it; null for the system (replies, ingestion) and anonymous acts', resolve: (e) => e.actorId }),
    correlationId: t.id({ nullable: true, resolve: (e) => e.correlationId }),
    causationId: t.id({ nullable: true, resolve: (e) => e.causationId }),
    requestId: t.id({ nullable: true, resolve: (e) => e.requestId }),
    subjectId: t.id({ nullable: true, description: 'The person the event is about (whose personal data it carries)', resolve: (e) => e.subjectId }),
    subjectErased: t.boolean({
      description: 'True when that person was erased: their personal fields in the log are unreadable',
      resolve: async (e, _args, context) => e.subjectErased ?? (e.subjectId ? subjectErased(context.services.readDb, e.subjectId) : false),
    }),
    personalFields: t.stringList({ description: 'Names of the personal fields it carries, encrypted in the log (never their values)', resolve: (e) => e.personalFields }),
    summary: t.field({ type: 'JSON', description: 'Ids, numbers and enumerated values from its data; never personal text', resolve: (e) => e.summary }),
  }),
});

const AuditEventConnection = builder.connectionObject({ type: AuditEvent, name: 'AuditEventConnection' });

const MAX_CURSOR_LENGTH = 200;

function decodeAuditCursor(cursor: string): bigint {
  if (cursor.length <= MAX_CURSOR_LENGTH) {
    try {
      const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (Array.isArray(parts) && parts.length === 2 && parts[0] === 'a' && typeof parts[1] === 'string' && /^\d{1,19}$/.test(parts[1])) {
        const value = BigInt(parts[1]);
        if (value <= MAX_INT8) return value;
      }
    } catch { /* fall through */ }
  }
  throw clientError('BAD_USER_INPUT', 'Invalid cursor: pass the cursor of an edge you received');
}

const encodeAuditCursor = (view: AuditView) => Buffer.from(JSON.stringify(['a', view.position.toString()])).toString('base64url');

interface PageArgs { first?: number | null; last?: number | null; after?: string | null; before?: string | null }

function auditConnection(context: GraphQLContext, args: PageArgs, filter: AuditFilter, options: { newestFirst: boolean; involving?: string }) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value !== null && value !== undefined && (value < 0 || value > MAX_AUDIT_PAGE_SIZE)) {
      throw clientError('BAD_USER_INPUT', `${name} must be between 0 and ${MAX_AUDIT_PAGE_SIZE}`);
    }
  }
  for (const name of ['after', 'before'] as const) if (args[name]) decodeAuditCursor(args[name]);
  return resolveCursorConnection(
    { args, toCursor: encodeAuditCursor, defaultSize: DEFAULT_AUDIT_PAGE_SIZE, maxSize: MAX_AUDIT_PAGE_SIZE },
    ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => auditPage(context.services.readDb, filter, {
      after: after ? decodeAuditCursor(after) : null, before: before ? decodeAuditCursor(before) : null, limit, inverted,
      newestFirst: options.newestFirst, involving: options.involving ?? null,
    }),
  );
}

builder.queryFields((t) => ({
  auditLog: t.connection({
    type: AuditEvent,
    description: `Admins: the audit log, every event with its actor, correlation, causation and request id; oldest first (newestFirst: true `
      + `for the other way); at most ${MAX_AUDIT_PAGE_SIZE} per page`,
    authScopes: { admin: true },
    args: {
      filter: t.arg({ type: AuditFilterInput, required: false }),
      newestFirst: t.arg.boolean({ required: false }),
    },
    resolve: (_root, args, context) => auditConnection(context, args, toFilter(args.filter), { newestFirst: args.newestFirst ?? false }),
  }, AuditEventConnection),
  myActivity: t.connection({
    type: AuditEvent,
    description: `Your own events: what you did, and what happened to your account and data (by you, the system, or an admin); `
      + `newest first (newestFirst: false for the other way); at most ${MAX_AUDIT_PAGE_SIZE} per page`,
    authScopes: { authenticated: true },
    args: { newestFirst: t.arg.boolean({ required: false }) },
    resolve: (_root, args, context) => auditConnection(context, args, {}, { newestFirst: args.newestFirst ?? true, involving: requireViewer(context).userId }),
  }, AuditEventConnection),
  exportMyData: t.field({
    type: 'JSON',
    description: 'Everything the platform holds about you, decrypted, as one JSON document (GDPR access and portability): account, '
      + 'sessions and logins, conversations with every message and reply (with sources), knowledge bases, documents (metadata and '
      + 'extracted chunk text; the files themselves are named by sha256), and your events. Nothing about anyone else.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, context) => {
      const viewer = requireViewer(context);
      return exportPersonalData({ db: context.services.readDb, store: context.services.store }, viewer.userId, new Date());
    },
  }),
}));

/** An event's live view, one object for every subscriber it reaches (so they can share its result: shared-subscription-events.ts). */
const liveViews = new WeakMap<RecordedEvent, AuditView>();
function liveView(event: RecordedEvent): AuditView {
  let view = liveViews.get(event);
  if (!view) liveViews.set(event, (view = { ...auditRecord(event), subjectErased: null }));
  return view;
}

builder.subscriptionFields((t) => ({
  auditFeed: t.field({
    type: AuditEvent,
    description: 'Admins: events matching the filter as they are recorded, live; with fromPosition, first those from that position on '
      + '(catch-up), and with toPosition it ends there. Ends with UNAUTHENTICATED when your session ends.',
    authScopes: { admin: true },
    args: { filter: t.arg({ type: AuditFilterInput, required: false }) },
    subscribe: async function* (_root, args, context) {
      const viewer = requireViewer(context);
      const filter = toFilter(args.filter);
      const { store, liveLog, sessions } = context.services;
      const from = filter.fromPosition;
      const after = from !== null && from !== undefined ? (from > 0n ? from - 1n : 0n) : await store.headPosition();
      const watch = sessions.watch(viewer);
      const log = liveLog.subscribeToAll({
        after, filter: { eventTypes: filter.types?.length ? filter.types : undefined, streamPrefix: filter.streamPrefix ?? undefined },
      });
      try {
        for await (const event of mergeStreams<RecordedEvent>([log], watch.signal)) {
          if (filter.toPosition !== null && filter.toPosition !== undefined && event.position > filter.toPosition) return;
          const view = liveView(event);
          if (matchesAuditFilter(view, filter)) yield view;
          if (filter.toPosition !== null && filter.toPosition !== undefined && event.position >= filter.toPosition) return;
        }
        if (watch.signal.aborted) {
          throw clientError('UNAUTHENTICATED', watch.signal.reason === 'expired' ? 'Your session expired; log in again' : 'Your session ended; log in again');
        }
      } finally {
        await log.close();
        watch.release();
      }
    },
    resolve: (item: AuditView) => item,
  }),
}));
