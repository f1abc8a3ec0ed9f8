import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/decider.ts';
import { checkText, sanitizeOptionalText, sanitizeText, textProblem } from '../../src/domain/text.ts';

describe('the text rule', () => {
  it('accepts ordinary text, emoji (surrogate pairs), tabs and line breaks in multi-line fields', () => {
    for (const value of ['', 'plain', 'Grüße 👋🏽 日本', 'line one\nline two\r\n\ttabbed', 'a literal \\u0000 stays text']) {
      expect(textProblem(value)).toBeNull();
    }
  });

  it('refuses NUL anywhere', () => {
    for (const value of ['\u0000', 'bad\u0000title', 'end\u0000']) expect(textProblem(value)).toMatch(/NUL/);
  });

  it('refuses lone high and low surrogates, at the start, middle and end', () => {
    for (const value of ['\uD800', 'a\uD83Dz', 'a\uDC00', '\uDFFFb', '\uDC00\uD800']) expect(textProblem(value)).toMatch(/lone surrogate/);
  });

  it('refuses control characters and line breaks in single-line fields only', () => {
    for (const value of ['a\nb', 'a\tb', 'a\u001Bb', 'a\u007Fb', 'a\u0085b']) {
      expect(textProblem(value, 'single-line')).toMatch(/control/);
      expect(textProblem(value, 'multiline')).toBeNull();
    }
    expect(textProblem('Ada Lovelace 👩‍💻', 'single-line')).toBeNull();
  });

  it('checkText throws BAD_USER_INPUT naming the field, and returns the value unchanged when fine', () => {
    expect(checkText(' keep  as is ', 'Title')).toBe(' keep  as is ');
    for (const [value, message] of [['x\u0000', /^Title must not contain NUL/], [42, /^Title must be a string/]] as const) {
      let error: unknown;
      try { checkText(value, 'Title'); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe('BAD_USER_INPUT');
      expect((error as DomainError).message).toMatch(message);
    }
  });

  it('sanitizeText replaces every NUL and lone surrogate with U+FFFD and keeps pairs', () => {
    expect(sanitizeText('a\u0000b\u0000c')).toBe('a\uFFFDb\uFFFDc');
    expect(sanitizeText('x\uD800y\uDC00z 👋')).toBe('x\uFFFDy\uFFFDz 👋');
    expect(sanitizeOptionalText(null)).toBeNull();
    expect(sanitizeOptionalText(7)).toBeNull();
    expect(sanitizeOptionalText('ok\u0000')).toBe('ok\uFFFD');
  });
});
