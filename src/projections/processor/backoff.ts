/**
 * Exponential back-off for a loop that retries after infrastructure errors: the first wait is
 * `initialMs`, each consecutive failure doubles it up to `maxMs`, a success starts over. Ten lines of
 * arithmetic; a retry library would want to own the call being retried, which a leased loop cannot give it.
 */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(initialMs: number, maxMs = Math.max(initialMs, 30_000)) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
  }

  /** The wait before the next attempt, growing with each call until reset(). */
  next(): number {
    const ms = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return ms;
  }

  reset(): void {
    this.failures = 0;
  }
}
