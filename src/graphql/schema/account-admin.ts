import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { z } from 'zod';
import { MAX_INVITE_USES, SIGNUP_MODES, type SignupMode } from '../../domain/account/signup-policy.ts';
import { textProblem } from '../../domain/text.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../infra/passwords.ts';
import { inviteById, invitePage, signupPolicy, type InviteRow, type SignupPolicyRow } from '../../projections/signup-queries.ts';
import { sessionsOf, userPage, usersById, type SessionRow, type UserRow } from '../../projections/users-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';
import { requireViewer, User, UserRole } from './accounts.ts';
import { checkPageArgs, DEFAULT_PAGE_SIZE, decodeCursor, encodeCursor, MAX_PAGE_SIZE } from './pagination.ts';

/**
 * Accounts and admin (docs/accounts.md): the admin's list of users, roles, reactivation, password
 * resets by a one-time token, session lists with revocation, the sign-up policy and invite codes.
 */

export const MAX_USER_SEARCH_LENGTH = 100;

const iso = (value: string | Date) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());

const UserStatus = builder.enumType('UserStatus', { values: ['active', 'deactivated'] as const });
const SignupModeEnum = builder.enumType('SignupMode', {
  values: { open: { value: 'open' }, invite_only: { value: 'invite_only' }, closed: { value: 'closed' } } as const,
  description: 'open: anyone may register; invite_only: registration needs an invite code; closed: nobody may (the first admin of an empty installation always may)',
});

const singleLine = (max: number) => z.string().max(max, `must be at most ${max} characters`)
  .refine((value) => textProblem(value, 'single-line') === null, 'must be one line of valid text without control characters');
const id = z.string().max(100, 'must be at most 100 characters');
const password = z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `must be at most ${MAX_PASSWORD_LENGTH} characters`);

const isOwner = (context: GraphQLContext, session: SessionRow) => context.viewer?.userId === session.user_id;

const Session = builder.objectRef<SessionRow>('Session').implement({
  description: 'A login session. Where it was started from is shown to its owner only.',
  fields: (t) => ({
    id: t.exposeID('session_id'),
    user: t.field({ type: User, resolve: (s) => s.user_id }),
    current: t.boolean({ description: 'True for the session of the token making this request', resolve: (s, _args, context) => context.viewer?.sessionId === s.session_id }),
    active: t.boolean({ description: 'True while its token is accepted', resolve: (s) => s.live }),
    startedAt: t.field({ type: 'DateTime', resolve: (s) => s.created_at }),
    expiresAt: t.field({ type: 'DateTime', resolve: (s) => s.expires_at }),
    endedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.ended_at }),
    endedReason: t.string({ nullable: true, description: 'logout, revoked or expired; null while open (a password change or deactivation also ends it: see active)', resolve: (s) => s.ended_reason }),
    clientAddress: t.string({ nullable: true, description: 'Owner only; null when unknown', resolve: (s, _args, context) => (isOwner(context, s) ? s.client_address : null) }),
    userAgent: t.string({ nullable: true, description: 'Owner only; null when unknown', resolve: (s, _args, context) => (isOwner(context, s) ? s.user_agent : null) }),
  }),
});

const SignupPolicy = builder.objectRef<SignupPolicyRow>('SignupPolicy').implement({
  fields: (t) => ({
    mode: t.field({ type: SignupModeEnum, resolve: (p) => p.mode }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, description: 'Null while the default applies', resolve: (p) => p.updated_at }),
  }),
});

const Invite = builder.objectRef<InviteRow>('Invite').implement({
  description: 'An invite code (the code itself is shown once, when it is created, and never stored)',
  fields: (t) => ({
    id: t.exposeID('invite_id'),
    createdBy: t.id({ nullable: true, resolve: (i) => i.created_by }),
    createdAt: t.field({ type: 'DateTime', resolve: (i) => i.created_at }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (i) => i.expires_at }),
    maxUses: t.int({ nullable: true, description: 'Null: unlimited', resolve: (i) => i.max_uses }),
    uses: t.exposeInt('uses'),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (i) => i.revoked_at }),
    usable: t.boolean({
      resolve: (i) => i.revoked_at === null && (i.expires_at === null || new Date(i.expires_at).getTime() > Date.now())
        && (i.max_uses === null || i.uses < i.max_uses),
    }),
  }),
});

const CreatedInvite = builder.objectRef<{ code: string; invite: InviteRow }>('CreatedInvite').implement({
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Shown this once: hand it to the person, who passes it to register(inviteCode:)' }),
    invite: t.field({ type: Invite, resolve: (c) => c.invite }),
  }),
});

const PasswordReset = builder.objectRef<{ token: string; expiresAt: string; userId: string }>('PasswordReset').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Shown this once: hand it to the person, who passes it to resetPassword(token:, newPassword:)' }),
    expiresAt: t.field({ type: 'DateTime', resolve: (r) => r.expiresAt }),
    user: t.field({ type: User, resolve: (r) => r.userId }),
  }),
});

const command = (context: GraphQLContext) => context.services.commandContext(requireViewer(context).userId, context.requestId);

/** A user the admin acts on, from the read model after the write (or NOT_FOUND if it has no row). */
async function userAfter(context: GraphQLContext, userId: string): Promise<UserRow | string> {
  return (await usersById(context.services.readDb, [userId])).get(userId) ?? userId;
}

builder.queryFields((t) => ({
  users: t.connection({
    type: User,
    description: `Admins: every account, oldest first, searched by part of the email or display name; at most ${MAX_PAGE_SIZE} per page. `
      + 'Erased people are not found (their personal data is gone).',
    authScopes: { admin: true },
    args: {
      search: t.arg.string({ required: false, validate: singleLine(MAX_USER_SEARCH_LENGTH) }),
      role: t.arg({ type: UserRole, required: false }),
      status: t.arg({ type: UserStatus, required: false }),
    },
    resolve: (_root, args, context) => {
      checkPageArgs(args);
      const search = args.search?.trim() || null;
      return resolveCursorConnection(
        { args, toCursor: (u: UserRow) => encodeCursor([iso(u.registered_at), u.user_id]), defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => userPage(context.services.readDb,
          { search, role: args.role ?? null, status: args.status ?? null }, {
            after: after ? decodeCursor(after, 2) as [string, string] : null,
            before: before ? decodeCursor(before, 2) as [string, string] : null,
            limit, inverted,
          }),
      );
    },
  }),
  mySessions: t.field({
    type: [Session],
    description: 'Your sessions, newest first (at most 100); the one of this request has current: true',
    authScopes: { authenticated: true },
    args: { activeOnly: t.arg.boolean({ required: false, description: 'Default true' }) },
    resolve: (_root, args, context) => sessionsOf(context.services.readDb, requireViewer(context).userId, args.activeOnly ?? true),
  }),
  userSessions: t.field({
    type: [Session],
    description: "Admins: a person's sessions, newest first (at most 100), without where they were started from",
    authScopes: { admin: true },
    args: { userId: t.arg.id({ validate: id }), activeOnly: t.arg.boolean({ required: false, description: 'Default true' }) },
    resolve: (_root, args, context) => sessionsOf(context.services.readDb, String(args.userId), args.activeOnly ?? true),
  }),
  signupPolicy: t.field({
    type: SignupPolicy,
    description: 'Who may register (anyone may ask, so a client can offer the right form)',
    resolve: (_root, _args, context) => signupPolicy(context.services.readDb),
  }),
  invites: t.connection({
    type: Invite,
    description: `Admins: invite codes, newest first; at most ${MAX_PAGE_SIZE} per page`,
    authScopes: { admin: true },
    args: { usableOnly: t.arg.boolean({ required: false, description: 'Only invites that can still be used (default false)' }) },
    resolve: (_root, args, context) => {
      checkPageArgs(args);
      return resolveCursorConnection(
        { args, toCursor: (i: InviteRow) => encodeCursor([i.created_seq]), defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE },
        ({ before, after, limit, inverted }: ResolveCursorConnectionArgs) => invitePage(context.services.readDb, args.usableOnly ?? false, {
          after: after ? checkSeq(decodeCursor(after, 1)[0]!) : null, before: before ? checkSeq(decodeCursor(before, 1)[0]!) : null, limit, inverted,
        }),
      );
    },
  }),
}));

function checkSeq(value: string): string {
  if (!/^\d{1,19}$/.test(value)) throw clientError('BAD_USER_INPUT', 'Invalid cursor');
  return value;
}

builder.mutationFields((t) => ({
  changeUserRole: t.field({
    type: User,
    description: 'Admins: makes a user admin or member. The last active admin cannot be made a member.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ validate: id }), role: t.arg({ type: UserRole }) },
    resolve: async (_root, args, context) => {
      const userId = String(args.id);
      const result = await context.services.accountAdmin.changeRole({ userId, role: args.role }, command(context));
      await settle(context, result);
      return userAfter(context, userId);
    },
  }),
  reactivateUser: t.field({
    type: User,
    description: 'Admins: lets a deactivated user log in again (their old sessions stay ended). An erased user cannot be reactivated.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const userId = String(args.id);
      const result = await context.services.accountAdmin.reactivate({ userId }, command(context));
      await settle(context, result);
      return userAfter(context, userId);
    },
  }),
  issuePasswordReset: t.field({
    type: PasswordReset,
    description: 'Admins: a one-time token (valid 1 hour) with which the person sets a new password; it supersedes earlier ones. '
      + 'There is no mail: hand it over yourself.',
    authScopes: { admin: true },
    args: { userId: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const userId = String(args.userId);
      const issued = await context.services.accountAdmin.issuePasswordReset({ userId }, command(context));
      return { token: issued.token, expiresAt: issued.expiresAt, userId };
    },
  }),
  resetPassword: t.boolean({
    description: 'Sets a new password with a token from issuePasswordReset (no login needed). The token works once; '
      + 'every session of the account ends. Then log in with the new password.',
    args: { token: t.arg.string({ validate: z.string().max(200, 'must be at most 200 characters') }), newPassword: t.arg.string({ validate: password }) },
    resolve: async (_root, args, context) => {
      const result = await context.services.accounts.resetPassword(args, context.services.commandContext(null, context.requestId));
      await settle(context, result);
      return true;
    },
  }),
  revokeSession: t.boolean({
    description: 'Ends one of your sessions (any of them, this one included)',
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const result = await context.services.accountAdmin.revokeSession({ userId: viewer.userId, sessionId: String(args.id) }, command(context));
      await settle(context, result);
      return true;
    },
  }),
  revokeUserSession: t.boolean({
    description: "Admins: ends one of a person's sessions",
    authScopes: { admin: true },
    args: { userId: t.arg.id({ validate: id }), sessionId: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const result = await context.services.accountAdmin.revokeSession({ userId: String(args.userId), sessionId: String(args.sessionId) }, command(context));
      await settle(context, result);
      return true;
    },
  }),
  setSignupPolicy: t.field({
    type: SignupPolicy,
    description: 'Admins: who may register from now on',
    authScopes: { admin: true },
    args: { mode: t.arg({ type: SignupModeEnum }) },
    resolve: async (_root, args, context) => {
      const mode: SignupMode = args.mode;
      if (!SIGNUP_MODES.includes(mode)) throw clientError('BAD_USER_INPUT', 'Unknown sign-up mode');
      const result = await context.services.accountAdmin.setSignupPolicy({ mode }, command(context));
      if (await settle(context, result)) return signupPolicy(context.services.readDb);
      return { mode, updated_by: requireViewer(context).userId, updated_at: new Date().toISOString() };
    },
  }),
  createInvite: t.field({
    type: CreatedInvite,
    description: 'Admins: a new invite code, optionally expiring and limited in uses (for invite-only sign-up)',
    authScopes: { admin: true },
    args: {
      expiresAt: t.arg({ type: 'DateTime', required: false }),
      maxUses: t.arg.int({ required: false, validate: z.number().int().min(1, 'must be at least 1').max(MAX_INVITE_USES, `must be at most ${MAX_INVITE_USES}`) }),
    },
    resolve: async (_root, args, context) => {
      const created = await context.services.accountAdmin.createInvite({ expiresAt: args.expiresAt ?? null, maxUses: args.maxUses ?? null }, command(context));
      const written = await settle(context, created) ? await inviteById(context.services.readDb, created.inviteId) : null;
      const invite: InviteRow = written ?? {
        invite_id: created.inviteId, created_by: requireViewer(context).userId, created_at: new Date().toISOString(), created_seq: String(created.position ?? 0n),
        expires_at: args.expiresAt ? new Date(args.expiresAt).toISOString() : null, max_uses: args.maxUses ?? null, uses: 0, revoked_at: null,
      };
      return { code: created.code, invite };
    },
  }),
  revokeInvite: t.field({
    type: Invite,
    description: 'Admins: the code stops working',
    authScopes: { admin: true },
    args: { id: t.arg.id({ validate: id }) },
    resolve: async (_root, args, context) => {
      const inviteId = String(args.id);
      const result = await context.services.accountAdmin.revokeInvite({ inviteId }, command(context));
      await settle(context, result);
      const invite = await inviteById(context.services.readDb, inviteId);
      if (!invite) throw clientError('NOT_FOUND', 'Invite not found');
      return invite;
    },
  }),
}));
