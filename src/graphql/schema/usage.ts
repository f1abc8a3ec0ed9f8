import { z } from 'zod';
import { utcDay } from '../../commands/usage.ts';
import { MAX_TOKENS_PER_DAY } from '../../domain/usage/token-quota.ts';
import { MAX_USAGE_DAYS, tokenQuotaOf, tokensUsedOn, usageRows, type UsageRow } from '../../projections/usage-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';
import { requireViewer, User } from './accounts.ts';

const UsageEntry = builder.objectRef<UsageRow>('UsageEntry').implement({
  description: 'Replies and tokens of one person with one model on one UTC day',
  fields: (t) => ({
    user: t.field({ type: User, resolve: (r) => r.user_id }),
    userId: t.exposeID('user_id'),
    day: t.exposeString('day', { description: 'YYYY-MM-DD (UTC)' }),
    model: t.exposeString('model', { description: 'The model the replies were asked of' }),
    requests: t.exposeInt('requests', { description: 'Replies started' }),
    promptTokens: t.exposeFloat('prompt_tokens'),
    completionTokens: t.exposeFloat('completion_tokens'),
    totalTokens: t.exposeFloat('total_tokens', { description: 'As the providers reported them, for completed replies' }),
  }),
});

interface Report { from: string; to: string; entries: UsageRow[] }

const UsageReport = builder.objectRef<Report>('UsageReport').implement({
  fields: (t) => ({
    from: t.exposeString('from'),
    to: t.exposeString('to'),
    entries: t.field({ type: [UsageEntry], description: 'Oldest day first', resolve: (r) => r.entries }),
    requests: t.int({ resolve: (r) => r.entries.reduce((n, e) => n + e.requests, 0) }),
    totalTokens: t.float({ resolve: (r) => r.entries.reduce((n, e) => n + Number(e.total_tokens), 0) }),
  }),
});

interface QuotaView { userId: string; tokensPerDay: number | null; usedToday: number }

const TokenQuota = builder.objectRef<QuotaView>('TokenQuota').implement({
  fields: (t) => ({
    userId: t.exposeID('userId'),
    tokensPerDay: t.int({ nullable: true, description: 'Null: no quota', resolve: (q) => q.tokensPerDay }),
    usedToday: t.exposeFloat('usedToday', { description: 'Tokens used today (UTC)' }),
  }),
});

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD').refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value), 'must be a real date');

function range(from: string, to: string): { from: string; to: string } {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  if (days < 1) throw clientError('BAD_USER_INPUT', '`to` must not be before `from`');
  if (days > MAX_USAGE_DAYS) throw clientError('BAD_USER_INPUT', `At most ${MAX_USAGE_DAYS} days at a time`);
  return { from, to };
}

async function quotaView(context: GraphQLContext, userId: string): Promise<QuotaView> {
  const db = context.services.readDb;
  return { userId, tokensPerDay: await tokenQuotaOf(db, userId), usedToday: await tokensUsedOn(db, userId, utcDay(new Date())) };
}

builder.queryFields((t) => ({
  myUsage: t.field({
    type: UsageReport,
    description: 'Your replies and tokens per model and UTC day, from `from` to `to` (both included)',
    authScopes: { authenticated: true },
    args: { from: t.arg.string({ validate: day }), to: t.arg.string({ validate: day }) },
    resolve: async (_root, args, context) => {
      const { from, to } = range(args.from, args.to);
      return { from, to, entries: await usageRows(context.services.readDb, { userId: requireViewer(context).userId, from, to }) };
    },
  }),
  myTokenQuota: t.field({
    type: TokenQuota,
    description: 'Your daily token quota (if an admin set one) and what you used of it today',
    authScopes: { authenticated: true },
    resolve: (_root, _args, context) => quotaView(context, requireViewer(context).userId),
  }),
  usage: t.field({
    type: UsageReport,
    description: 'Admins: replies and tokens per person, model and UTC day (everyone\'s, or one person\'s)',
    authScopes: { admin: true },
    args: { userId: t.arg.id({ required: false }), from: t.arg.string({ validate: day }), to: t.arg.string({ validate: day }) },
    resolve: async (_root, args, context) => {
      const { from, to } = range(args.from, args.to);
      const userId = args.userId === null || args.userId === undefined ? null : String(args.userId);
      return { from, to, entries: await usageRows(context.services.readDb, { userId, from, to }) };
    },
  }),
  tokenQuota: t.field({
    type: TokenQuota,
    description: 'Admins: a person\'s daily token quota and what they used of it today',
    authScopes: { admin: true },
    args: { userId: t.arg.id() },
    resolve: (_root, args, context) => quotaView(context, String(args.userId)),
  }),
}));

builder.mutationFields((t) => ({
  setTokenQuota: t.field({
    type: TokenQuota,
    description: 'Admins: sets a person\'s daily token quota (null lifts it). Once their replies used that many tokens on a UTC day, '
      + 'sending messages is refused with QUOTA_EXCEEDED until the next day.',
    authScopes: { admin: true },
    args: {
      userId: t.arg.id(),
      tokensPerDay: t.arg.int({ required: false, validate: z.number().int().min(0, 'must be at least 0').max(MAX_TOKENS_PER_DAY, `must be at most ${MAX_TOKENS_PER_DAY}`).nullish() }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const userId = String(args.userId);
      const result = await context.services.usage.setTokenQuota({ userId, tokensPerDay: args.tokensPerDay ?? null },
        context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      return quotaView(context, userId);
    },
  }),
}));
