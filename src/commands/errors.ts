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

/** The person's replies used up their daily token quota (UTC day); it resets at midnight UTC. */
export class QuotaExceededError extends Error {
  readonly code = 'QUOTA_EXCEEDED';
  readonly tokensPerDay: number;
  readonly tokensUsed: number;

  constructor(tokensPerDay: number, tokensUsed: number) {
    super(`Your daily token quota (${tokensPerDay} tokens) is used up; it resets at 00:00 UTC`);
    this.name = 'QuotaExceededError';
    this.tokensPerDay = tokensPerDay;
    this.tokensUsed = tokensUsed;
  }
}
