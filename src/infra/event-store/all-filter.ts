import type { AllFilter } from './port.ts';

/** A `$all` filter applied to an event in memory, as the stores apply it: the stream's prefix and its type. */
export function matchesAllFilter(filter: AllFilter | undefined, event: { stream: string; type: string }): boolean {
  if (filter?.streamPrefix && !event.stream.startsWith(filter.streamPrefix)) return false;
  const types = filter?.eventTypes;
  return !types || types.length === 0 || types.includes(event.type);
}
