import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';
import type { Services } from './services.ts';

const pending = new WeakSet<object>();

/** What a command handler returns that read-your-writes needs. */
export interface Written {
  position: bigint | null;
  /** Domain events ({ type, data }); their types pick the projections to wait for. */
  events?: ReadonlyArray<unknown>;
}

/**
 * Read-your-writes (ARCHITECTURE.md §4): waits, bounded (READ_YOUR_WRITES_TIMEOUT_MS), until the projections that apply these
 * events have passed the write. True when they have; otherwise the response is flagged
 * `extensions.pending: true` — the write happened and must not be retried — and the caller answers
 * from the write side instead of a read model that does not show it yet.
 */
export async function settle(context: GraphQLContext, { position, events }: Written): Promise<boolean> {
  if (position === null) return true;
  const eventTypes = events?.map((event) => String((event as { type?: unknown }).type));
  const reached = await context.services.projections.waitFor(position, { eventTypes, timeoutMs: context.services.config.readYourWritesTimeoutMs });
  if (!reached) pending.add(context);
  return reached;
}

export function isPending(context: GraphQLContext): boolean {
  return pending.has(context);
}

/** Adds `extensions.pending: true` to the response of an operation whose writes the read models do not show yet. */
export function usePendingFlag(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (!pending.has(args.contextValue as object) || !result || Symbol.asyncIterator in result) return;
          setResult({
            ...result,
            extensions: {
              ...result.extensions,
              pending: true,
              pendingReason: 'The change was recorded; the read models do not show it yet (a projection is behind or stopped). Do not repeat it.',
            },
          });
        },
      };
    },
  };
}

/**
 * Tells a conversation's live subscribers of a write once the conversations read model shows it
 * (what the item's `message` field loads; bounded like settle, and published anyway after that),
 * without waiting for the other read models a mutation settles on: the audit log applies every
 * event, and the reply reactor, which waits for the conversations projection only, announced the
 * reply's start before the message it answers while that one waited for the audit log too.
 */
export async function announceToConversation(
  services: Pick<Services, 'projections' | 'pubsub' | 'config'>, conversationId: string, position: bigint | null, item: Record<string, unknown>,
): Promise<void> {
  if (position !== null) {
    await services.projections.waitFor(position, { projections: ['conversations'], timeoutMs: services.config.readYourWritesTimeoutMs });
  }
  services.pubsub.publish('conversation', conversationId, { ...item, ...(position !== null ? { position: position.toString() } : {}) });
}
