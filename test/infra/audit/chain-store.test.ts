import { describe, expect, it } from 'vitest';
import { ChainConflictError, GENESIS_LINK, type ChainLink } from '../../../src/infra/audit/chain-store.ts';
import { postgresSkipReason } from '../../support/postgres.ts';
import { postgresHarness, sqliteHarness, type ChainHarness } from './chain-harness.ts';

const link = (seq: number, position = BigInt(seq * 2)): ChainLink => ({ seq, position, hash: seq.toString(16).padStart(64, '0') });

function chainStoreContract(name: string, open: () => Promise<ChainHarness>) {
  describe(`ChainStore (${name})`, () => {
    it('appends links after the head only, atomically, and pages through them', async () => {
      const h = await open();
      try {
        expect(await h.chain.head()).toEqual(GENESIS_LINK);
        await h.chain.appendLinks([link(1), link(2), link(3)]);
        expect(await h.chain.head()).toEqual(link(3));
        for (const bad of [[link(5)], [link(3)], [link(4), link(6)], [link(4, 6n)], [link(4), link(5, 8n)]]) {
          await expect(h.chain.appendLinks(bad)).rejects.toBeInstanceOf(ChainConflictError);
        }
        expect(await h.chain.head()).toEqual(link(3)); // nothing of a refused batch was written
        await h.chain.appendLinks(Array.from({ length: 20 }, (_, i) => link(i + 4)));
        expect(await h.chain.links(10, 5)).toEqual([11, 12, 13, 14, 15].map((s) => link(s)));
        expect((await h.chain.head()).seq).toBe(23);
      } finally {
        await h.dispose();
      }
    });

    it('two instances racing to append the same seq: exactly one wins', async () => {
      const h = await open();
      try {
        const other = await h.openChain();
        const results = await Promise.allSettled([h.chain.appendLinks([link(1), link(2)]), other.appendLinks([link(1, 3n)])]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(rejected.reason).toBeInstanceOf(ChainConflictError);
      } finally {
        await h.dispose();
      }
    });

    it('keeps checkpoints, one per seq, byte for byte', async () => {
      const h = await open();
      try {
        const checkpoint = { ...link(7), signature: Buffer.from([0, 1, 2, 255]).toString('base64'), keyId: 'k'.repeat(64), signedAt: '2026-12-02T01:02:03.456Z' };
        expect(await h.chain.latestCheckpoint()).toBeNull();
        await h.chain.putCheckpoint(checkpoint);
        await h.chain.putCheckpoint({ ...checkpoint, signature: 'AAAA' });
        await h.chain.putCheckpoint({ ...checkpoint, seq: 3 });
        expect(await h.chain.checkpoints()).toEqual([{ ...checkpoint, seq: 3 }, checkpoint]);
        expect(await h.chain.latestCheckpoint()).toEqual(checkpoint);
      } finally {
        await h.dispose();
      }
    });
  });
}

chainStoreContract('SQLite', sqliteHarness);
const skip = postgresSkipReason('PostgreSQL chain store');
describe.skipIf(skip)('postgres', () => chainStoreContract('PostgreSQL', postgresHarness));
