import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../../src/infra/event-store/errors.ts';
import { validateAppend } from '../../../src/infra/event-store/validate-append.ts';
import { newEvent } from '../../support/events.ts';

describe('validateAppend: NUL characters', () => {
  it('refuses a real NUL in data, also after escaped backslashes', () => {
    for (const value of ['a\u0000b', '\\\u0000', '\\\\\\\u0000']) {
      expect(() => validateAppend('s-1', [newEvent('Tested', { value })], 'any')).toThrow(InvalidEventError);
    }
  });

  it('accepts text that merely spells a backslash-u0000 escape', () => {
    for (const value of ['\\u0000', 'code: "\\\\u0000"', '\\\\\\u0000']) {
      const [serialized] = validateAppend('s-1', [newEvent('Tested', { value })], 'any');
      expect(JSON.parse(serialized!.data)).toEqual({ value });
    }
  });
});
