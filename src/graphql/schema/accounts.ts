import { z } from 'zod';
import { MAX_DISPLAY_NAME_LENGTH, MAX_EMAIL_LENGTH } from '../../domain/user/user.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../infra/passwords.ts';
import { usersById, type UserRow } from '../../projections/users-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';

export type { UserRow };

export const UserRole = builder.enumType('UserRole', { values: ['admin', 'member'] as const });

export const User = builder.loadableObject('User', {
  load: async (ids: string[], context: GraphQLContext) => {
    const byId = await usersById(context.services.readDb, ids);
    return ids.map((id) => byId.get(id) ?? new Error(`User ${id} not found`));
  },
  fields: (t) => ({
    id: t.exposeID('user_id'),
    email: t.string({
      nullable: true,
      description: 'Visible to the user themself and to admins; null when erased',
      resolve: (user, _args, context) =>
        context.viewer && (context.viewer.userId === user.user_id || context.viewer.role === 'admin') ? user.email : null,
    }),
    displayName: t.string({ nullable: true, resolve: (user) => user.display_name }),
    role: t.field({ type: UserRole, resolve: (user) => (user.role === 'admin' ? 'admin' : 'member') }),
    active: t.boolean({ resolve: (user) => user.status === 'active' }),
    registeredAt: t.field({ type: 'DateTime', resolve: (user) => user.registered_at }),
  }),
});

const AuthPayload = builder.objectRef<{ token: string; expiresAt: string; userId: string }>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as Authorization: Bearer <token>' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (p) => p.expiresAt }),
    user: t.field({ type: User, resolve: (p) => p.userId }),
  }),
});

const email = z.string().max(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`).email('must be an email address');
const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

/** Read-your-writes for account writes: waits for the users projection only (see ../settle.ts). */
function settleAccount(context: GraphQLContext, position: bigint | null, ...eventTypes: string[]): Promise<boolean> {
  return settle(context, { position, events: eventTypes.map((type) => ({ type })) });
}

builder.mutationFields((t) => ({
  register: t.field({
    type: User,
    description: 'Creates an account. The first account ever registered becomes admin; after that the sign-up policy decides '
      + '(signupPolicy): SIGNUP_CLOSED when closed, INVITE_INVALID when invite-only and the code is missing or not valid.',
    args: {
      email: t.arg.string({ validate: email }),
      password: t.arg.string({ validate: password }),
      displayName: t.arg.string({ validate: z.string().trim().min(1, 'must not be empty').max(MAX_DISPLAY_NAME_LENGTH, `must be at most ${MAX_DISPLAY_NAME_LENGTH} characters`) }),
      inviteCode: t.arg.string({ required: false, description: 'Needed when sign-up is invite-only', validate: z.string().max(200, 'must be at most 200 characters') }),
    },
    resolve: async (_root, args, context) => {
      const command = context.services.commandContext(null, context.requestId);
      const userId = command.newId();
      const result = await context.services.accounts.register({ userId, ...args }, { ...command, actorId: userId });
      if (await settleAccount(context, result.position, 'UserRegistered', 'UserPasswordSet', 'UserRoleAssigned')) return userId;
      // Not in the read model yet: answer from what was written (flagged pending).
      const row: UserRow = {
        user_id: userId, email: args.email.trim().toLowerCase(), display_name: args.displayName.trim(), role: result.role,
        status: 'active', registered_at: new Date().toISOString(),
      };
      return row;
    },
  }),
  login: t.field({
    type: AuthPayload,
    args: { email: t.arg.string(), password: t.arg.string() },
    resolve: async (_root, args, context) => {
      const session = await context.services.accounts.login({ ...args, clientAddress: context.clientAddress, userAgent: context.userAgent },
        context.services.commandContext(null, context.requestId));
      await settleAccount(context, session.position, 'SessionStarted');
      return session;
    },
  }),
  logout: t.boolean({
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => {
      const viewer = context.viewer!;
      const result = await context.services.accounts.logout({ sessionId: viewer.sessionId, userId: viewer.userId },
        context.services.commandContext(viewer.userId, context.requestId));
      await settleAccount(context, result.position, 'SessionEnded');
      return true;
    },
  }),
  changePassword: t.field({
    type: AuthPayload,
    description: 'Ends every session of the account, this one included, and returns a new token',
    authScopes: { authenticated: true },
    args: { currentPassword: t.arg.string(), newPassword: t.arg.string({ validate: password }) },
    resolve: async (_root, args, context) => {
      const viewer = context.viewer!;
      const session = await context.services.accounts.changePassword(
        { userId: viewer.userId, ...args, clientAddress: context.clientAddress, userAgent: context.userAgent },
        context.services.commandContext(viewer.userId, context.requestId));
      await settleAccount(context, session.position, 'UserPasswordSet', 'SessionStarted');
      return session;
    },
  }),
}));

builder.queryFields((t) => ({
  me: t.field({
    type: User,
    nullable: true,
    description: 'The logged-in user, or null',
    resolve: (_root, _args, context) => context.viewer?.userId ?? null,
  }),
}));

export function requireViewer(context: GraphQLContext) {
  if (!context.viewer) throw clientError('UNAUTHENTICATED', 'Log in first: send Authorization: Bearer <token>');
  return context.viewer;
}
