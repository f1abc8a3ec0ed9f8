import { currentTraceParent } from '../infra/tracing.ts';
import type { EventMetadata } from '../infra/event-store/port.ts';

/** Who asks, why, and the clock and id source: everything impure a command needs, passed in. */
export interface CommandContext {
  actorId: string | null;
  correlationId: string;
  /** The event or request that caused this command, when there is one. */
  causationId: string | null;
  requestId: string | null;
  now(): Date;
  newId(): string;
}

/** The actor id of an action the platform takes by itself (a reactor, a sweep): `system:<component>`. */
export const systemActor = (component: string): string => `system:${component}`;

export function metadataFrom(context: CommandContext): EventMetadata {
  const traceParent = currentTraceParent();
  return {
    actorId: context.actorId,
    correlationId: context.correlationId,
    causationId: context.causationId,
    requestId: context.requestId,
    occurredAt: context.now().toISOString(),
    ...(traceParent ? { traceParent } : {}),
  };
}
