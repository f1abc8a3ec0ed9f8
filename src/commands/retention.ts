import { conversationDecider, conversationStream } from '../domain/conversation/conversation.ts';
import { DomainError } from '../domain/decider.ts';
import { documentDecider, documentStream } from '../domain/document/document.ts';
import { checkId } from '../domain/identifiers.ts';
import {
  checkHoldTarget, legalHoldDecider, legalHoldStream, LOGIN_RECORDS_STREAM, MAX_EXPIRED_SESSIONS, RETENTION_POLICY_STREAM, retentionPolicyDecider,
  type HoldTarget, type LegalHoldState, type LoginRecordsExpired, type RetentionKind, type RetentionPolicyState,
} from '../domain/retention/retention.ts';
import { userDecider, userStream } from '../domain/user/user.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { listLegalHolds } from '../projections/retention-queries.ts';
import { metadataFrom, type CommandContext } from './context.ts';
import { executeCommand, loadAggregate, type CommandResult } from './execute-command.ts';

export interface RetentionCommandsDeps {
  store: EventStore;
  /** The retention read model, to find the conversation holds of a person. */
  readDb: SqlExecutor;
}

export interface RetentionPolicyInForce extends RetentionPolicyState {
  /** Id of the RetentionPolicySet event in force (the causation of expiries); null while nothing was ever set. */
  eventId: string | null;
}

export function createRetentionCommands({ store, readDb }: RetentionCommandsDeps) {
  const holdState = async (target: HoldTarget, targetId: string): Promise<LegalHoldState> =>
    (await loadAggregate(store, legalHoldDecider, legalHoldStream(target, targetId))).state;

  /** The person the target's data belongs to; NOT_FOUND unless it exists (a person not erased, a live conversation). */
  async function ownerOf(target: HoldTarget, targetId: string): Promise<string> {
    if (target === 'person') {
      const { state } = await loadAggregate(store, userDecider, userStream(targetId));
      if (state.status === 'unregistered' || state.status === 'erased') throw new DomainError('NOT_FOUND', 'No such person');
      return targetId;
    }
    const { state } = await loadAggregate(store, conversationDecider, conversationStream(targetId));
    if (state.status !== 'active' || state.ownerId === null) throw new DomainError('NOT_FOUND', 'No such conversation');
    return state.ownerId;
  }

  return {
    /** The policy from its stream (not the read model), with the event that set it. */
    async policy(): Promise<RetentionPolicyInForce> {
      const recorded = await store.readStream(RETENTION_POLICY_STREAM);
      const state = recorded.reduce((s, r) => retentionPolicyDecider.evolve(s, { type: r.type, data: r.data } as never), retentionPolicyDecider.initialState());
      return { ...state, eventId: recorded.at(-1)?.id ?? null };
    },

    setPolicy(changes: Partial<Record<RetentionKind, number | null>>, context: CommandContext): Promise<CommandResult<RetentionPolicyState, unknown>> {
      return executeCommand(store, retentionPolicyDecider, RETENTION_POLICY_STREAM, { type: 'SetRetentionPolicy', changes }, context);
    },

    async placeHold(input: { target: unknown; targetId: unknown; reason: unknown }, context: CommandContext): Promise<CommandResult<LegalHoldState, unknown>> {
      const target = checkHoldTarget(input.target);
      const targetId = checkId(input.targetId, 'Target id');
      const ownerId = await ownerOf(target, targetId);
      return executeCommand(store, legalHoldDecider, legalHoldStream(target, targetId),
        { type: 'PlaceLegalHold', holdId: context.newId(), target, targetId, ownerId, reason: input.reason as string }, context);
    },

    liftHold(input: { target: unknown; targetId: unknown; reason: unknown }, context: CommandContext): Promise<CommandResult<LegalHoldState, unknown>> {
      const target = checkHoldTarget(input.target);
      const targetId = checkId(input.targetId, 'Target id');
      return executeCommand(store, legalHoldDecider, legalHoldStream(target, targetId),
        { type: 'LiftLegalHold', target, targetId, reason: input.reason as string }, context);
    },

    /** Whether a hold covers the conversation, read from the hold streams (authoritative, not the read model). */
    async conversationHeld(conversationId: string, ownerId: string): Promise<boolean> {
      const states = await Promise.all([holdState('conversation', conversationId), holdState('person', ownerId)]);
      return states.some((state) => state.status === 'held');
    },

    async personHeld(userId: string): Promise<boolean> {
      return (await holdState('person', userId)).status === 'held';
    },

    /** Every hold that covers the person: on them, and on each conversation of theirs the read model knows held. */
    async holdsCovering(userId: string): Promise<LegalHoldState[]> {
      const conversationHolds = (await listLegalHolds(readDb, { ownerId: userId })).filter((row) => row.target === 'conversation');
      return Promise.all([holdState('person', userId), ...conversationHolds.map((row) => holdState('conversation', row.target_id))]);
    },

    expireConversation(input: { conversationId: string; lastActivityAt: string; retentionDays: number }, context: CommandContext) {
      return executeCommand(store, conversationDecider, conversationStream(input.conversationId), { type: 'ExpireConversation', ...input }, context);
    },

    expireDocument(input: { documentId: string; lastActivityAt: string; retentionDays: number }, context: CommandContext) {
      return executeCommand(store, documentDecider, documentStream(input.documentId), { type: 'ExpireDocument', ...input }, context);
    },

    /** Records one batch from expireLoginRecords: 1 to MAX_EXPIRED_SESSIONS sessions. */
    async expireLoginRecords(event: LoginRecordsExpired, context: CommandContext): Promise<bigint> {
      const count = event.data.sessions.length;
      if (count === 0 || count > MAX_EXPIRED_SESSIONS) throw new Error(`A LoginRecordsExpired names 1 to ${MAX_EXPIRED_SESSIONS} sessions, not ${count}`);
      const result = await store.append(LOGIN_RECORDS_STREAM, [{
        id: context.newId(), type: event.type, schemaVersion: 1, data: event.data, metadata: metadataFrom(context),
      }]);
      return result.position;
    },
  };
}

export type RetentionCommands = ReturnType<typeof createRetentionCommands>;
