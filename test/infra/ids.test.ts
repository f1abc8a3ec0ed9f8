import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/infra/ids.ts';

describe('uuidv7', () => {
  it('has the version and variant bits of RFC 9562', () => {
    const id = uuidv7();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('encodes the given milliseconds in the first 48 bits', () => {
    const ms = Date.UTC(2026, 10, 26);
    const id = uuidv7(ms + 1_000_000);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(ms + 1_000_000);
  });

  it('sorts in creation order within one millisecond', () => {
    const ms = Date.now() + 5_000_000;
    const ids = Array.from({ length: 5000 }, () => uuidv7(ms));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('derivedUuid', () => {
  it('is stable for a name, different across names, and a valid version-8 UUID', async () => {
    const { derivedUuid } = await import('../../src/infra/ids.ts');
    expect(derivedUuid('reply:a')).toBe(derivedUuid('reply:a'));
    expect(derivedUuid('reply:a')).not.toBe(derivedUuid('reply:b'));
    expect(derivedUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
