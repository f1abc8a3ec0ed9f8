import { DomainError } from './decider.ts';

/**
 * The one rule every client-supplied string passes before it can become part of an event: no NUL
 * (PostgreSQL text cannot hold it, so one NUL would stop every read model) and no lone UTF-16
 * surrogate (not encodable as UTF-8, so it would be silently altered or refused downstream).
 * Single-line fields (names, titles, emails, model names) also refuse other control characters.
 */

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// C0 controls and DEL and C1 controls; tab is allowed nowhere in a single line either.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;

export type TextKind = 'multiline' | 'single-line';

/** The reason `value` is not acceptable text, or null when it is. */
export function textProblem(value: string, kind: TextKind = 'multiline'): string | null {
  if (NUL.test(value)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode (it contains a lone surrogate)';
  if (kind === 'single-line' && CONTROL.test(value)) return 'must not contain control characters or line breaks';
  return null;
}

/** Throws BAD_USER_INPUT naming the field when `value` is not a string or breaks the text rule. */
export function checkText(value: unknown, field: string, kind: TextKind = 'multiline'): string {
  if (typeof value !== 'string') throw new DomainError('BAD_USER_INPUT', `${field} must be a string`);
  const problem = textProblem(value, kind);
  if (problem) throw new DomainError('BAD_USER_INPUT', `${field} ${problem}`);
  return value;
}

// eslint-disable-next-line no-control-regex
const NUL_GLOBAL = /\u0000/g;
const LONE_SURROGATE_GLOBAL = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * For text nobody can be asked to fix (what a model streamed, a provider's error message): NUL and
 * lone surrogates become U+FFFD, so the text can be recorded and projected.
 */
export function sanitizeText(value: string): string {
  return value.replace(NUL_GLOBAL, '\uFFFD').replace(LONE_SURROGATE_GLOBAL, '\uFFFD');
}

/** sanitizeText for an optional value; non-strings become null. */
export function sanitizeOptionalText(value: unknown): string | null {
  return typeof value === 'string' ? sanitizeText(value) : null;
}
