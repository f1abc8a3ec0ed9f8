import { z } from 'zod';
import { MAX_PARKING_REASON_LENGTH } from '../../domain/projection/parking.ts';
import { MAX_REASON_LENGTH } from '../../domain/user/user.ts';
import { isConnectionFailure, StoreUnavailableError } from '../../infra/store-unavailable.ts';
import { builder } from '../builder.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';
import { requireViewer, User } from './accounts.ts';
import { ProjectionStatus } from './system.ts';

builder.mutationFields((t) => ({
  deactivateUser: t.field({
    type: User,
    description: 'Admins: ends every session of the user and stops them from logging in',
    authScopes: { admin: true },
    args: {
      id: t.arg.id(),
      reason: t.arg.string({ required: false, validate: z.string().max(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const userId = String(args.id);
      if (userId === viewer.userId) throw clientError('CONFLICT', 'You cannot deactivate your own account');
      const result = await context.services.users.deactivate({ userId, reason: args.reason ?? null },
        context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return userId;
    },
  }),
  eraseUser: t.id({
    description: 'Erases a person (yourself, or anyone for admins): their personal data in the log becomes unreadable '
      + 'and their read-model rows (account, sessions, conversations) are deleted. Returns the id.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const userId = String(args.id);
      if (userId !== viewer.userId && viewer.role !== 'admin') throw clientError('FORBIDDEN', 'Only admins can erase other people');
      const result = await context.services.users.eraseData({ userId }, context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return userId;
    },
  }),
  parkProjectionEvent: t.field({
    type: ProjectionStatus,
    description: 'Admins: lets a projection stopped at an event it cannot apply carry on past it. The parking is recorded '
      + 'in the log with you as actor and your reason; the event stays in the log, skipped by this projection (also in rebuilds).',
    authScopes: { admin: true },
    args: {
      name: t.arg.string(),
      eventId: t.arg.id(),
      reason: t.arg.string({ validate: z.string().max(MAX_PARKING_REASON_LENGTH, `must be at most ${MAX_PARKING_REASON_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      await context.services.projectionCommands.park({ projection: args.name, eventId: String(args.eventId), reason: args.reason },
        context.services.commandContext(viewer.userId, context.requestId));
      const head = await context.services.store.headPosition();
      if (await context.services.projections.waitUntilPast(args.name, String(args.eventId), 5_000)) {
        await context.services.projections.waitFor(head, { projections: [args.name], timeoutMs: 5_000 });
      }
      return (await context.services.projections.status()).find((s) => s.name === args.name)!;
    },
  }),
  rebuildProjection: t.field({
    type: ProjectionStatus,
    description: 'Admins: rebuilds a read model from the whole log into fresh tables, then swaps them in',
    authScopes: { admin: true },
    args: { name: t.arg.string() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const runner = context.services.projections;
      if (!(await runner.status()).some((s) => s.name === args.name)) throw clientError('NOT_FOUND', `No projection named "${args.name}"`);
      try {
        await context.services.projectionCommands.rebuild({ projection: args.name }, context.services.commandContext(viewer.userId, context.requestId));
      } catch (error) {
        // A database outage is not a conflict: let it map to SERVICE_UNAVAILABLE.
        if (error instanceof StoreUnavailableError || isConnectionFailure(error)) throw error;
        // Already rebuilding, or running on another instance: say so rather than mask it.
        throw clientError('CONFLICT', (error as Error).message);
      }
      return (await runner.status()).find((s) => s.name === args.name)!;
    },
  }),
}));
