/** Reports unexpected errors to Sentry once startErrorTracking ran (SENTRY_DSN set); a no-op otherwise. */
type Capture = (error: unknown, tags: Record<string, string>) => void;

let capture: Capture | undefined;
let flush: (() => Promise<void>) | undefined;

/** Loads @sentry/node (only now: it is not loaded when SENTRY_DSN is unset) and starts sending. */
export async function startErrorTracking(dsn: string, environment: string): Promise<void> {
  const setup = await import('./error-tracking-setup.ts');
  ({ capture, flush } = setup.startSentry(dsn, environment));
}

/** An unexpected error (never a client error with a code): sent without request data, headers or user. */
export function reportUnexpected(error: unknown, tags: Record<string, string | null | undefined> = {}): void {
  if (!capture) return;
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) if (typeof value === 'string') clean[key] = value.slice(0, 200);
  capture(error, clean);
}

export async function flushErrorTracking(): Promise<void> {
  await flush?.();
}
