import { sanitizeText, textProblem } from '../domain/text.ts';
import type { RecordedEvent } from '../infra/event-store/port.ts';

/** A JSON value with every string (keys included) passed through sanitizeText; the same object when nothing changes. */
function sanitizeValue(value: unknown): unknown {
  if (typeof value === 'string') return textProblem(value) === null ? value : sanitizeText(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = sanitizeValue(item);
      if (clean !== item) (copy ??= [...value])[i] = clean;
    });
    return copy ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const cleanKey = textProblem(key) === null ? key : sanitizeText(key);
      const clean = sanitizeValue(item);
      if (cleanKey !== key || clean !== item) changed = true;
      return [cleanKey, clean] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

/**
 * Defence in depth (ARCHITECTURE.md §4): whatever an older log holds, a projection sees no NUL and no
 * lone surrogate, so user content can never make PostgreSQL refuse a row and stop a read model.
 */
export function sanitizeEvent(event: RecordedEvent): RecordedEvent {
  const data = sanitizeValue(event.data);
  const metadata = sanitizeValue(event.metadata) as RecordedEvent['metadata'];
  return data === event.data && metadata === event.metadata ? event : { ...event, data, metadata };
}
