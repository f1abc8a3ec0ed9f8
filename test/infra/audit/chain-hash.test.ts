import { describe, expect, it } from 'vitest';
import { canonicalEventBytes, canonicalJson, chainHash, GENESIS_HASH } from '../../../src/infra/audit/chain-hash.ts';
import { newEvent } from '../../support/events.ts';
import { postgresSkipReason } from '../../support/postgres.ts';
import { postgresHarness, sqliteHarness, type ChainHarness } from './chain-harness.ts';

const awkward = {
  zeta: 1, alpha: { y: [3, { b: 2, a: 1 }], x: null }, Émile: 'é', '10': 'numeric key', '9': 'sorts after 10', '': 'empty key',
  half: 1.5, big: 1e21, small: 1e-7, negZero: -0, max: Number.MAX_SAFE_INTEGER, neg: -42, bigAsString: '123456789012345678901234567890',
  unicode: 'ünïcødé 😀 \u2028 \u200b 中文 \t\n"\\', nested: { deep: { deeper: { deepest: [[], {}, [[]]] } } }, bools: [true, false],
};

describe('canonicalJson', () => {
  it('sorts keys, drops whitespace and writes numbers as JSON.stringify does', () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: 0 }] })).toBe('{"a":[2,{"c":0,"d":1}],"b":1}');
    expect(canonicalJson({ n: -0, e: 1e21, f: 1.5 })).toBe('{"e":1e+21,"f":1.5,"n":0}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/finite/);
  });

  it('chains: each hash depends on the previous one and on every envelope field but the position', () => {
    const event = { ...newEvent('Tested', { n: 1 }), stream: 's', revision: 0n, position: 1n };
    const one = chainHash(GENESIS_HASH, event);
    expect(chainHash(GENESIS_HASH, { ...event, position: 99n } as typeof event)).toEqual(one);
    for (const changed of [{ stream: 't' }, { revision: 1n }, { type: 'Other' }, { schemaVersion: 2 }, { data: { n: 2 } }, { id: '0'.repeat(8) }, { metadata: { ...event.metadata, actorId: 'someone else' } }]) {
      expect(chainHash(GENESIS_HASH, { ...event, ...changed })).not.toEqual(one);
    }
    expect(chainHash(one, event)).not.toEqual(one);
  });
});

/** Data and metadata must hash the same whether they went through SQLite text or PostgreSQL jsonb. */
async function roundTrip(h: ChainHarness): Promise<Buffer> {
  const event = newEvent('Awkward', awkward, '01890000-0000-7000-8000-000000000abc');
  event.metadata = { ...event.metadata, occurredAt: '2026-01-02T03:04:05.678Z', correlationId: 'c', actorId: 'ä' };
  await h.log.append('awkward', [event]);
  await h.visible();
  const [stored] = await h.log.readAll();
  expect(stored!.data).toEqual(JSON.parse(JSON.stringify(awkward)));
  return canonicalEventBytes(stored!);
}

describe('canonical bytes across adapters', () => {
  const skip = postgresSkipReason('canonical bytes on PostgreSQL');
  it.skipIf(skip)('are identical on SQLite (text) and PostgreSQL (jsonb) for awkward JSON', async () => {
    const sqlite = await sqliteHarness();
    const postgres = await postgresHarness();
    try {
      const a = await roundTrip(sqlite);
      const b = await roundTrip(postgres);
      expect(b.toString('utf8')).toBe(a.toString('utf8'));
      expect(a.toString('utf8')).toContain('"big":1e+21');
      expect(a.toString('utf8')).toContain('"negZero":0');
    } finally {
      await sqlite.dispose();
      await postgres.dispose();
    }
  }, 60_000);
});
