import { clientError } from '../errors.ts';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** Relay page sizes: a clear BAD_USER_INPUT with the limit, instead of a silent clamp. */
export function checkPageArgs(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value === null || value === undefined) continue;
    if (value < 0 || value > MAX_PAGE_SIZE) throw clientError('BAD_USER_INPUT', `${name} must be between 0 and ${MAX_PAGE_SIZE}`);
  }
}

export const encodeCursor = (parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(cursor: string, arity: number): string[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === arity && parts.every((p) => typeof p === 'string')) return parts;
  } catch { /* fall through */ }
  throw clientError('BAD_USER_INPUT', 'Invalid cursor');
}
