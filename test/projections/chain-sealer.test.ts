import { describe, expect, it } from 'vitest';
import { publicKeyPem } from '../../src/infra/audit/signing-key.ts';
import { verifyChain } from '../../src/infra/audit/verify.ts';
import { ChainSealer } from '../../src/projections/chain-sealer.ts';
import { newEvent } from '../support/events.ts';
import { postgresSkipReason } from '../support/postgres.ts';
import { freeLease, postgresHarness, signingKey, sqliteHarness, type ChainHarness } from '../infra/audit/chain-harness.ts';
import { testLogger } from './runner.contract.ts';

function sealerSuite(name: string, open: () => Promise<ChainHarness>) {
  describe(`ChainSealer (${name})`, () => {
    it('seals live appends in order, signs a checkpoint once caught up, and resumes from the chain head after a restart', async () => {
      const h = await open();
      const key = signingKey();
      const { logger } = testLogger();
      const options = { log: h.log, chain: h.chain, signingKey: key, leases: freeLease, logger, idlePollMs: 20, checkpointIntervalMs: 0, batchSize: 7 };
      try {
        const sealer = new ChainSealer(options);
        sealer.start();
        let last = 0n;
        for (let i = 0; i < 20; i++) last = (await h.log.append(`s-${i % 3}`, [newEvent('Tested', { i }), newEvent('Tested', { i, b: true })])).position;
        expect(await sealer.waitFor(last, 30_000)).toBe(true);
        await sealer.stop();
        expect((await h.chain.head()).seq).toBe(40);
        expect((await h.chain.latestCheckpoint())?.seq).toBe(40);

        for (let i = 0; i < 5; i++) last = (await h.log.append('after-restart', [newEvent('Tested', { i })])).position;
        const again = new ChainSealer(options);
        again.start();
        expect(await again.waitFor(last, 30_000)).toBe(true);
        await again.stop();
        const result = await verifyChain({ log: h.log, chain: h.chain, publicKey: publicKeyPem(key) });
        expect(result).toMatchObject({ ok: true, events: 45, headSeq: 45, unsealedTail: 0 });
        expect(result.ok && result.lastCheckpoint?.seq).toBe(45);
      } finally {
        await h.dispose();
      }
    }, 60_000);

    it('two sealers without a common lease never both write: the chain stays one valid chain', async () => {
      const h = await open();
      const key = signingKey();
      try {
        const otherChain = await h.openChain();
        const { logger, lines } = testLogger();
        const make = (chain = h.chain) => new ChainSealer({
          log: h.log, chain, signingKey: key, leases: freeLease, logger, idlePollMs: 5, leaseRetryMs: 5, errorBackoffMs: 5, checkpointIntervalMs: 0, batchSize: 3,
        });
        const sealers = [make(), make(otherChain)];
        for (const s of sealers) s.start();
        let last = 0n;
        for (let i = 0; i < 60; i++) last = (await h.log.append(`s-${i % 4}`, [newEvent('Tested', { i })])).position;
        expect(await sealers[0]!.waitFor(last, 30_000)).toBe(true);
        for (const s of sealers) await s.stop();
        expect(lines.filter((l) => l.level === 50)).toEqual([]); // conflicts are stand-bys, not errors
        expect(await verifyChain({ log: h.log, chain: h.chain, publicKey: key })).toMatchObject({ ok: true, headSeq: 60 });
      } finally {
        await h.dispose();
      }
    }, 60_000);
  });
}

sealerSuite('SQLite', sqliteHarness);
const skip = postgresSkipReason('ChainSealer on PostgreSQL');
describe.skipIf(skip)('postgres', () => sealerSuite('PostgreSQL', postgresHarness));
