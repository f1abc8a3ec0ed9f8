import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../src/infra/ids.ts';

describe('uuidv7', () => {
  it('has the version and variant bits of RFC 9562', () => {
    const id = uuidv7();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never reuses its random bits, across many refills of its random pool', () => {
    // The last 62 bits are random only: equal tails would mean the same random bytes used twice.
    const tails = new Set(Array.from({ length: 5_000 }, () => uuidv7().slice(19)));
    expect(tails.size).toBe(5_000);
  });

  it('encodes the given milliseconds in the first 48 bits', () => {
    // Far ahead of any id made so far in this process, so the counter cannot have borrowed a millisecond.
    const ms = Date.now() + 1_000_000_000;
    expect(parseInt(uuidv7(ms).replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
    expect(parseInt(uuidv7(ms + 12_345).replace(/-/g, '').slice(0, 12), 16)).toBe(ms + 12_345);
  });

  it('never goes back in time: an earlier clock reading keeps the last millisecond and counts on', () => {
    const ms = Date.now() + 2_000_000_000;
    const later = uuidv7(ms);
    const earlier = uuidv7(ms - 1000);
    expect(parseInt(earlier.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
    expect(earlier > later).toBe(true);
  });

  it('borrows the next millisecond when 4,096 ids share one', () => {
    const ms = Date.now() + 3_000_000_000;
    const ids = Array.from({ length: 4097 }, () => uuidv7(ms));
    const millis = new Set(ids.map((id) => parseInt(id.replace(/-/g, '').slice(0, 12), 16)));
    expect([...millis].sort()).toEqual([ms, ms + 1]);
    expect([...ids].sort()).toEqual(ids);
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
