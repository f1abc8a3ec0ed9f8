import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChainConflictError, GENESIS_LINK } from '../../src/infra/audit/chain-store.ts';
import { SealerThread } from '../../src/infra/audit/sealer-thread.ts';
import { publicKeyPem } from '../../src/infra/audit/signing-key.ts';
import { verifyChain } from '../../src/infra/audit/verify.ts';
import { ChainSealer } from '../../src/projections/chain-sealer.ts';
import { newEvent } from '../support/events.ts';
import { postgresSkipReason } from '../support/postgres.ts';
import { freeLease, postgresHarness, signingKey, sqliteHarness, type ChainHarness } from '../infra/audit/chain-harness.ts';
import { testLogger } from './runner.contract.ts';

const skip = postgresSkipReason('ChainSealer on PostgreSQL');

type Mode = 'in this thread' | 'in its own thread';
const batchesFor = (mode: Mode, h: ChainHarness) => (mode === 'in its own thread' ? { batches: new SealerThread(h.target) } : {});

function sealerSuite(name: string, open: () => Promise<ChainHarness>, mode: Mode) {
  describe(`ChainSealer (${name}, ${mode})`, () => {
    it('seals live appends in order, signs a checkpoint once caught up, and resumes from the chain head after a restart', async () => {
      const h = await open();
      const key = signingKey();
      const { logger } = testLogger();
      const options = { log: h.log, chain: h.chain, signingKey: key, leases: freeLease, logger, idlePollMs: 20, checkpointIntervalMs: 0, batchSize: 7 };
      try {
        const sealer = new ChainSealer({ ...options, ...batchesFor(mode, h) });
        sealer.start();
        let last = 0n;
        for (let i = 0; i < 20; i++) last = (await h.log.append(`s-${i % 3}`, [newEvent('Tested', { i }), newEvent('Tested', { i, b: true })])).position;
        expect(await sealer.waitFor(last, 30_000)).toBe(true);
        await sealer.stop();
        expect((await h.chain.head()).seq).toBe(40);
        expect((await h.chain.latestCheckpoint())?.seq).toBe(40);

        for (let i = 0; i < 5; i++) last = (await h.log.append('after-restart', [newEvent('Tested', { i })])).position;
        const again = new ChainSealer({ ...options, ...batchesFor(mode, h) });
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

    it('an append notified while it looks at the log is sealed at once, not at the next poll', async () => {
      const h = await open();
      const { logger } = testLogger();
      // Holds the sealer's second look at the log's head until the test has appended and notified.
      // With an idle poll of an hour, only a notification that is not lost gets the append sealed.
      let looks = 0;
      let lookStarted!: () => void;
      const looking = new Promise<void>((resolve) => { lookStarted = resolve; });
      let release!: () => void;
      const released = new Promise<void>((resolve) => { release = resolve; });
      const log = new Proxy(h.log, {
        get(target, property, receiver) {
          if (property !== 'headPosition') return Reflect.get(target, property, receiver) as unknown;
          return async () => {
            const position = await target.headPosition();
            if (++looks === 2) {
              lookStarted();
              await released;
            }
            return position;
          };
        },
      });
      const sealer = new ChainSealer({
        ...batchesFor(mode, h), log, chain: h.chain, signingKey: signingKey(), leases: freeLease, logger,
        idlePollMs: 3_600_000, checkpointIntervalMs: 0, batchSize: 7,
      });
      try {
        const first = (await h.log.append('s', [newEvent('Tested')])).position;
        sealer.start();
        expect(await sealer.waitFor(first, 30_000)).toBe(true);
        sealer.notify(); // caught up and asleep for an hour: look again
        await looking; // its head taken before the next append
        const next = (await h.log.append('s', [newEvent('Tested')])).position;
        sealer.notify();
        release();
        expect(await sealer.waitFor(next, 30_000)).toBe(true);
      } finally {
        await sealer.stop();
        await h.dispose();
      }
    }, 90_000);

    it('two sealers without a common lease never both write: the chain stays one valid chain', async () => {
      const h = await open();
      const key = signingKey();
      try {
        const otherChain = await h.openChain();
        const { logger, lines } = testLogger();
        // In its own thread, both sealers' threads write through their own connections.
        const make = (chain = h.chain) => new ChainSealer({
          ...batchesFor(mode, h), log: h.log, chain, signingKey: key, leases: freeLease, logger, idlePollMs: 5, leaseRetryMs: 5, errorBackoffMs: 5, checkpointIntervalMs: 0, batchSize: 3,
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

for (const mode of ['in this thread', 'in its own thread'] as const) {
  sealerSuite('SQLite', sqliteHarness, mode);
  describe.skipIf(skip)('postgres', () => sealerSuite('PostgreSQL', postgresHarness, mode));
}

describe('SealerThread', () => {
  it('a thread that cannot open the log fails each step with an error, never hangs, and closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-seal-'));
    try {
      // A directory where the events file should be: SQLite cannot open it.
      const thread = new SealerThread({ eventStore: 'sqlite', path: dir });
      await expect(thread.sealNext(GENESIS_LINK, 10)).rejects.toThrow();
      await expect(thread.sealNext(GENESIS_LINK, 10)).rejects.toThrow();
      await thread.close();
      await expect(thread.sealNext(GENESIS_LINK, 10)).rejects.toThrow(/closed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a step that does not continue the stored head is a ChainConflictError, as in this thread', async () => {
    const h = await sqliteHarness();
    const thread = new SealerThread(h.target);
    try {
      await h.log.append('s', [newEvent('Tested'), newEvent('Tested')]);
      const first = await thread.sealNext(GENESIS_LINK, 1);
      expect(first).toMatchObject({ count: 1, head: { seq: 1 } });
      await expect(thread.sealNext(GENESIS_LINK, 1)).rejects.toBeInstanceOf(ChainConflictError);
      expect(await thread.sealNext(first.head, 10)).toMatchObject({ count: 1, head: { seq: 2 } });
      expect(await h.chain.head()).toMatchObject({ seq: 2 });
    } finally {
      await thread.close();
      await h.dispose();
    }
  }, 60_000);
});
