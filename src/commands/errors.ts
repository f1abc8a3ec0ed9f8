/** Refusals that are about who is asking rather than about the domain. */
export class AccessError extends Error {
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'RATE_LIMITED';
  readonly retryAfterSeconds: number | null;

  constructor(code: AccessError['code'], message: string, retryAfterSeconds: number | null = null) {
    super(message);
    this.name = 'AccessError';
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
