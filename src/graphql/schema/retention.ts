import { RETENTION_KINDS, type HoldTarget, type RetentionKind, type RetentionPolicy } from '../../domain/retention/retention.ts';
import { listLegalHolds, readRetentionPolicy, type LegalHoldRow } from '../../projections/retention-queries.ts';
import { builder } from '../builder.ts';
import { settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';

/** Retention and legal hold (docs/audit.md): admins only. */

const RetentionPolicyType = builder.objectRef<RetentionPolicy>('RetentionPolicy').implement({
  description: 'Days each kind of data is kept after its last activity; null keeps it forever',
  fields: (t) => ({
    conversationsDays: t.int({ nullable: true, resolve: (p) => p.conversations }),
    documentsDays: t.int({ nullable: true, resolve: (p) => p.documents }),
    loginRecordsDays: t.int({ nullable: true, resolve: (p) => p.loginRecords }),
  }),
});

const RetentionPolicyInput = builder.inputType('RetentionPolicyInput', {
  description: 'Kinds left out keep their setting; null keeps that kind forever. Days: 1 to 36500.',
  fields: (t) => ({
    conversationsDays: t.int({ required: false }),
    documentsDays: t.int({ required: false }),
    loginRecordsDays: t.int({ required: false }),
  }),
});

const HoldTargetType = builder.enumType('LegalHoldTarget', { values: ['PERSON', 'CONVERSATION'] as const });
const toTarget = (value: 'PERSON' | 'CONVERSATION'): HoldTarget => (value === 'PERSON' ? 'person' : 'conversation');

const LegalHold = builder.objectRef<LegalHoldRow>('LegalHold').implement({
  fields: (t) => ({
    id: t.exposeID('hold_id'),
    target: t.field({ type: HoldTargetType, resolve: (h) => (h.target === 'person' ? 'PERSON' : 'CONVERSATION') }),
    targetId: t.exposeID('target_id'),
    ownerId: t.exposeID('owner_id', { description: 'The person the held data belongs to' }),
    reason: t.exposeString('reason'),
    placedBy: t.exposeID('placed_by', { nullable: true }),
    placedAt: t.field({ type: 'DateTime', resolve: (h) => h.placed_at }),
  }),
});

const LegalHoldInput = builder.inputType('LegalHoldInput', {
  fields: (t) => ({
    target: t.field({ type: HoldTargetType, required: true }),
    targetId: t.id({ required: true }),
    reason: t.string({ required: true, description: 'A case reference or note, 1 to 500 characters on one line; no personal data' }),
  }),
});

const FIELD: Record<RetentionKind, 'conversationsDays' | 'documentsDays' | 'loginRecordsDays'> = {
  conversations: 'conversationsDays', documents: 'documentsDays', loginRecords: 'loginRecordsDays',
};

builder.queryFields((t) => ({
  retentionPolicy: t.field({
    type: RetentionPolicyType,
    description: 'Admins: how long each kind of data is kept',
    authScopes: { admin: true },
    resolve: (_root, _args, context) => readRetentionPolicy(context.services.readDb),
  }),
  legalHolds: t.field({
    type: [LegalHold],
    description: 'Admins: the legal holds in force, oldest first (at most 500)',
    authScopes: { admin: true },
    resolve: (_root, _args, context) => listLegalHolds(context.services.readDb),
  }),
}));

builder.mutationFields((t) => ({
  setRetentionPolicy: t.field({
    type: RetentionPolicyType,
    description: 'Admins: sets how long kinds of data are kept; expired items are crypto-shredded and their rows deleted',
    authScopes: { admin: true },
    args: { input: t.arg({ type: RetentionPolicyInput, required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const changes: Partial<Record<RetentionKind, number | null>> = {};
      const input = args.input as Record<string, number | null | undefined>;
      for (const kind of RETENTION_KINDS) if (input[FIELD[kind]] !== undefined) changes[kind] = input[FIELD[kind]] ?? null;
      const { retention, retentionReactor, commandContext } = context.services;
      const result = await retention.setPolicy(changes, commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      retentionReactor.notify();
      return result.state.policy;
    },
  }),
  placeLegalHold: t.field({
    type: LegalHold,
    description: 'Admins: suspends expiry and erasure of a person (all their data) or of one conversation',
    authScopes: { admin: true },
    args: { input: t.arg({ type: LegalHoldInput, required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const target = toTarget(args.input.target);
      const targetId = String(args.input.targetId);
      const result = await context.services.retention.placeHold({ target, targetId, reason: args.input.reason },
        context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      const state = result.state;
      if (state.status !== 'held') throw new Error('placeLegalHold: the hold was not recorded');
      return {
        hold_id: state.holdId, target, target_id: targetId, owner_id: state.ownerId, reason: state.reason,
        placed_by: viewer.userId, placed_at: new Date().toISOString(), placed_seq: String(result.position ?? 0n),
      };
    },
  }),
  liftLegalHold: t.id({
    description: 'Admins: lifts a legal hold (with a reason); expiry and erasure may proceed again. Returns the hold id.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: LegalHoldInput, required: true }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const result = await context.services.retention.liftHold(
        { target: toTarget(args.input.target), targetId: String(args.input.targetId), reason: args.input.reason },
        context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      context.services.retentionReactor.notify();
      const lifted = result.events[0] as { data: { holdId: string } };
      return lifted.data.holdId;
    },
  }),
}));
