import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SubjectErasedError, type KeyStore } from '../../../src/infra/personal-data/key-store.ts';

/**
 * What every KeyStore adapter must do. `open` returns a new instance over the same storage each time,
 * so tests can play two application instances. Subjects are unique per test; no reset is needed.
 */
export function describeKeyStoreContract(name: string, open: () => Promise<KeyStore>): void {
  describe(`${name} (KeyStore contract)`, () => {
    const opened: KeyStore[] = [];
    async function store(): Promise<KeyStore> {
      const s = await open();
      opened.push(s);
      return s;
    }
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('returns undefined for a subject that never had a key', async () => {
      const s = await store();
      expect(await s.get(`subject-${randomUUID()}`)).toBeUndefined();
    });

    it('stores a key once and keeps the first one', async () => {
      const s = await store();
      const subject = `subject-${randomUUID()}`;
      const first = Buffer.concat([Buffer.from([0, 255, 0]), randomBytes(58)]); // zero bytes survive
      const stored = await s.putIfAbsent(subject, first);
      expect(Buffer.isBuffer(stored)).toBe(true);
      expect(stored.equals(first)).toBe(true);
      expect(await s.putIfAbsent(subject, randomBytes(61))).toEqual(first);
      expect((await s.get(subject))?.equals(first)).toBe(true);
    });

    it('keeps keys per subject apart', async () => {
      const s = await store();
      const a = `subject-${randomUUID()}`;
      const b = `subject-${randomUUID()}`;
      const keyA = randomBytes(61);
      const keyB = randomBytes(61);
      await s.putIfAbsent(a, keyA);
      await s.putIfAbsent(b, keyB);
      expect(await s.get(a)).toEqual(keyA);
      expect(await s.get(b)).toEqual(keyB);
      expect(await s.delete(a)).toBe(true);
      expect(await s.get(a)).toBeUndefined();
      expect(await s.get(b)).toEqual(keyB);
    });

    it('deletes a key: true the first time, false afterwards, and no new key may follow', async () => {
      const s = await store();
      const subject = `subject-${randomUUID()}`;
      await s.putIfAbsent(subject, randomBytes(61));
      expect(await s.delete(subject)).toBe(true);
      expect(await s.delete(subject)).toBe(false);
      expect(await s.get(subject)).toBeUndefined();
      await expect(s.putIfAbsent(subject, randomBytes(61))).rejects.toBeInstanceOf(SubjectErasedError);
      expect(await s.get(subject)).toBeUndefined();
    });

    it('erasing a subject that never had a key still blocks keys for them', async () => {
      const s = await store();
      const subject = `subject-${randomUUID()}`;
      expect(await s.delete(subject)).toBe(false);
      await expect(s.putIfAbsent(subject, randomBytes(61))).rejects.toBeInstanceOf(SubjectErasedError);
    });

    it('deleteUnder deletes and tombstones a person\'s item keys, and none can be made once the person is erased', async () => {
      const s = await store();
      const person = `subject-${randomUUID()}`;
      const other = `subject-${randomUUID()}`;
      await s.putIfAbsent(person, randomBytes(61));
      await s.putIfAbsent(`${person}/conversation/a`, randomBytes(61));
      await s.putIfAbsent(`${person}/document/b`, randomBytes(61));
      const kept = randomBytes(61);
      await s.putIfAbsent(`${other}/conversation/a`, kept);
      await s.putIfAbsent(`${person}x/conversation/a`, kept); // a longer id with the same start is someone else
      expect(await s.delete(`${person}/conversation/a`)).toBe(true); // one item alone
      expect(await s.get(person)).toBeDefined();
      await expect(s.putIfAbsent(`${person}/conversation/a`, randomBytes(61))).rejects.toBeInstanceOf(SubjectErasedError);
      expect(await s.delete(person)).toBe(true);
      expect(await s.deleteUnder(`${person}/`)).toBe(1);
      expect(await s.get(`${person}/document/b`)).toBeUndefined();
      await expect(s.putIfAbsent(`${person}/document/b`, randomBytes(61))).rejects.toBeInstanceOf(SubjectErasedError);
      await expect(s.putIfAbsent(`${person}/conversation/new`, randomBytes(61))).rejects.toBeInstanceOf(SubjectErasedError);
      expect(await s.get(`${other}/conversation/a`)).toEqual(kept);
      expect(await s.get(`${person}x/conversation/a`)).toEqual(kept);
      expect(await s.deleteUnder(`${person}/`)).toBe(0);
    });

    it('keeps keys across a close and reopen', async () => {
      const subject = `subject-${randomUUID()}`;
      const key = randomBytes(61);
      const s1 = await open();
      await s1.putIfAbsent(subject, key);
      await s1.close();
      const s2 = await store();
      expect(await s2.get(subject)).toEqual(key);
    });

    it('gives every racing instance the same key for a subject', async () => {
      const instances = [await store(), await store(), await store()];
      const subject = `subject-${randomUUID()}`;
      const candidates = Array.from({ length: 24 }, () => randomBytes(61));
      const results = await Promise.all(candidates.map((c, i) => instances[i % instances.length]!.putIfAbsent(subject, c)));
      const winner = results[0]!;
      expect(candidates.some((c) => c.equals(winner))).toBe(true);
      for (const r of results) expect(r.equals(winner)).toBe(true);
      for (const s of instances) expect(await s.get(subject)).toEqual(winner);
    });
  });
}
