import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyObject } from 'node:crypto';
import { chainHash } from '../../../src/infra/audit/chain-hash.ts';
import { signCheckpoint } from '../../../src/infra/audit/checkpoint-signature.ts';
import { publicKeyPem } from '../../../src/infra/audit/signing-key.ts';
import { verifyChain, type VerifyResult } from '../../../src/infra/audit/verify.ts';
import type { RecordedEvent } from '../../../src/infra/event-store/port.ts';
import { newEvent } from '../../support/events.ts';
import { sealAll, signingKey, type ChainHarness } from './chain-harness.ts';

/**
 * The Done-when for tamper evidence, on one adapter: rows edited, deleted, reordered or
 * inserted directly in the database make verify fail at that place; rewriting links too is caught by
 * the signed checkpoints; a checkpoint signed with another key is caught; the public key alone suffices.
 */
export function tamperContract(name: string, open: () => Promise<ChainHarness>): void {
  describe(`tamper evidence (${name})`, () => {
    let h: ChainHarness;
    let key: KeyObject;
    let publicKey: string;
    let events: RecordedEvent[];

    beforeEach(async () => {
      h = await open();
      key = signingKey();
      publicKey = publicKeyPem(key); // verification gets only this PEM string
      for (let s = 0; s < 6; s++) {
        await h.log.append(`stream-${s}`, [newEvent('Tested', { n: s * 10, text: 'ciphertext-like' }), newEvent('Tested', { n: s * 10 + 1 })]);
        await h.log.append(`stream-${s}`, [newEvent('Tested', { n: s * 10 + 2, nested: { a: [1, 2, { b: 'c' }] } })]);
        await h.log.append(`stream-${s}`, [newEvent('Tested', { n: s * 10 + 3 }), newEvent('Tested', { n: s * 10 + 4 })]);
      }
      await h.visible();
      await sealAll(h.log, h.chain, key, { batchSize: 10, checkpointEvery: 10 });
      events = await h.log.readAll({ maxCount: 1000 });
      expect(events).toHaveLength(30);
    }, 60_000);
    afterEach(async () => {
      await h.dispose();
    });

    const verify = (from?: 'start' | 'last-checkpoint') => verifyChain({ log: h.log, chain: h.chain, publicKey, from, batchSize: 7 });
    const failure = (result: VerifyResult) => {
      if (result.ok) throw new Error(`verify passed: ${JSON.stringify(result)}`);
      return result;
    };
    const pos = (seq: number) => events[seq - 1]!.position;

    it('passes on the untouched log, from the start and from the last checkpoint', async () => {
      const full = await verify();
      expect(full).toMatchObject({ ok: true, events: 30, headSeq: 30, checkpoints: 3, unsealedTail: 0 });
      expect(full.ok && full.lastCheckpoint).toMatchObject({ seq: 30, position: pos(30).toString() });
      expect(await verify('last-checkpoint')).toMatchObject({ ok: true, events: 0, headSeq: 30 });
    });

    it('an edited row fails at its position', async () => {
      const { events: table, position, data } = h.names;
      const edit = h.kind === 'sqlite'
        ? `UPDATE ${table} SET ${data} = json_set(${data}, '$.n', 999) WHERE ${position} = ?`
        : `UPDATE ${table} SET ${data} = jsonb_set(${data}, '{n}', '999') WHERE ${position} = $1`;
      await h.sql(edit, [pos(7)]);
      expect(failure(await verify())).toMatchObject({ seq: 7, position: pos(7).toString(), reason: 'hash-mismatch' });
    });

    it('an edited stream name or type fails too (the whole envelope is hashed)', async () => {
      const { events: table, position } = h.names;
      const type = h.kind === 'sqlite' ? `UPDATE ${table} SET type = 'Forged' WHERE ${position} = ?` : `UPDATE ${table} SET type = 'Forged' WHERE ${position} = $1`;
      await h.sql(type, [pos(12)]);
      expect(failure(await verify())).toMatchObject({ seq: 12, reason: 'hash-mismatch' });
    });

    it('a deleted row fails at its position', async () => {
      const { events: table, position } = h.names;
      await h.sql(`DELETE FROM ${table} WHERE ${position} = ${h.kind === 'sqlite' ? '?' : '$1'}`, [pos(13)]);
      expect(failure(await verify())).toMatchObject({ seq: 13, position: pos(13).toString(), reason: 'missing-event' });
    });

    it('two rows swapped (their positions exchanged) fail at the first of them', async () => {
      const { events: table, position } = h.names;
      const p = h.kind === 'sqlite' ? ['?', '?'] : ['$1', '$2'];
      await h.sql(`UPDATE ${table} SET ${position} = -1 WHERE ${position} = ${p[0]}`, [pos(9)]);
      await h.sql(`UPDATE ${table} SET ${position} = ${p[0]} WHERE ${position} = ${p[1]}`, [pos(9), pos(10)]);
      await h.sql(`UPDATE ${table} SET ${position} = ${p[0]} WHERE ${position} = -1`, [pos(10)]);
      expect(failure(await verify())).toMatchObject({ seq: 9, position: pos(9).toString(), reason: 'hash-mismatch' });
    });

    it('an event inserted among the sealed ones fails where it was put; positions themselves are only locators', async () => {
      const { events: table, position, links, checkpoints } = h.names;
      // Spread the positions out (consistently in log, links and checkpoints): still valid.
      await h.sql(`UPDATE ${table} SET ${position} = ${position} * 10 + 5000`);
      await h.sql(`UPDATE ${links} SET position = position * 10 + 5000`);
      await h.sql(`UPDATE ${checkpoints} SET position = position * 10 + 5000`);
      expect(await verify()).toMatchObject({ ok: true, headSeq: 30 });
      const moved = (seq: number) => (pos(seq) * 10n + 5000n).toString();
      const slot = (pos(20) * 10n + 5001n).toString();
      if (h.kind === 'sqlite') {
        await h.sql(`INSERT INTO ${table} (${position}, id, stream, revision, type, schema_version, data, metadata)
          SELECT ?, '00000000-0000-7000-8000-000000000002', 'forged', 0, type, schema_version, data, metadata FROM ${table} WHERE ${position} = ?`,
        [slot, moved(3)]);
      } else {
        await h.sql(`INSERT INTO ${table} (${position}, transaction_id, event_id, stream_id, revision, type, schema_version, data, metadata)
          SELECT $1, transaction_id, '00000000-0000-7000-8000-000000000002', 'forged', 0, type, schema_version, data, metadata FROM ${table} WHERE ${position} = $2`,
        [slot, moved(3)]);
      }
      expect(failure(await verify())).toMatchObject({ seq: 21, position: slot, reason: 'extra-event' });
    });

    it('an attacker who rewrites an event and every link after it is caught by the next signed checkpoint', async () => {
      const { events: table, position, data, links } = h.names;
      const ph = h.kind === 'sqlite' ? ['?', '?'] : ['$1', '$2'];
      const edit = h.kind === 'sqlite'
        ? `UPDATE ${table} SET ${data} = json_set(${data}, '$.n', 999) WHERE ${position} = ?`
        : `UPDATE ${table} SET ${data} = jsonb_set(${data}, '{n}', '999') WHERE ${position} = $1`;
      await h.sql(edit, [pos(14)]);
      // Recompute the chain from the (edited) log and write every link again, as a careful attacker would.
      const tampered = await h.log.readAll({ maxCount: 1000 });
      let hash: Buffer = Buffer.alloc(32);
      for (let i = 0; i < tampered.length; i++) {
        hash = chainHash(hash, tampered[i]!);
        await h.sql(`UPDATE ${links} SET hash = ${ph[0]} WHERE seq = ${ph[1]}`, [hash, i + 1]);
      }
      expect(failure(await verify())).toMatchObject({ seq: 20, position: pos(20).toString(), reason: 'checkpoint-mismatch' });
      // Dropping the checkpoints after the edit does not help: the last one still is the signed 30...
      await h.sql(`DELETE FROM ${h.names.checkpoints} WHERE seq = 20`);
      expect(failure(await verify())).toMatchObject({ seq: 30, reason: 'checkpoint-mismatch' });
      // ...and re-signing it needs the private key: a forgery with another key is refused.
      const forger = signingKey();
      await h.sql(`DELETE FROM ${h.names.checkpoints} WHERE seq = 30`);
      const head = (await h.chain.head());
      await h.chain.putCheckpoint({ ...signCheckpoint(forger, head, new Date()), keyId: (await h.chain.checkpoints())[0]!.keyId });
      expect(failure(await verify())).toMatchObject({ seq: 30, reason: 'bad-signature' });
    });

    it('a checkpoint signed with another key is refused', async () => {
      const forger = signingKey();
      await h.log.append('stream-x', [newEvent('Tested', { n: 1 })]);
      await h.visible();
      await sealAll(h.log, h.chain, forger, { checkpointEvery: 1 });
      expect(failure(await verify())).toMatchObject({ seq: 31, reason: 'bad-signature' });
      expect(await verifyChain({ log: h.log, chain: h.chain, publicKey: [publicKey, publicKeyPem(forger)] })).toMatchObject({ ok: true, headSeq: 31 });
    });

    it('a checkpoint whose signed hash was altered is refused', async () => {
      const { checkpoints } = h.names;
      const ph = h.kind === 'sqlite' ? '?' : '$1';
      await h.sql(`UPDATE ${checkpoints} SET hash = ${ph} WHERE seq = 20`, [Buffer.alloc(32, 7)]);
      expect(failure(await verify())).toMatchObject({ seq: 20, reason: 'bad-signature' });
    });

    it('links and events removed from the end, before a checkpoint, are caught', async () => {
      const { events: table, position, links } = h.names;
      const ph = h.kind === 'sqlite' ? '?' : '$1';
      await h.sql(`DELETE FROM ${table} WHERE ${position} >= ${ph}`, [pos(25).toString()]);
      await h.sql(`DELETE FROM ${links} WHERE seq >= 25`);
      expect(failure(await verify())).toMatchObject({ seq: 30, reason: 'checkpoint-mismatch' });
    });

    it('the limit: the unsealed tail after the last checkpoint can be truncated unnoticed', async () => {
      await h.log.append('stream-tail', [newEvent('Tested', { n: 1 }), newEvent('Tested', { n: 2 })]);
      await h.visible();
      expect(await verify()).toMatchObject({ ok: true, headSeq: 30, unsealedTail: 2 });
      const { events: table, position } = h.names;
      await h.sql(`DELETE FROM ${table} WHERE ${position} > ${h.kind === 'sqlite' ? '?' : '$1'}`, [pos(30).toString()]);
      expect(await verify()).toMatchObject({ ok: true, headSeq: 30, unsealedTail: 0 });
    });
  });
}
