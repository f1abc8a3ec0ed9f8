import { createDecipheriv, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SubjectErasedError } from '../../../src/infra/personal-data/key-store.ts';
import type { NewEvent, RecordedEvent } from '../../../src/infra/event-store/port.ts';
import {
  ERASED, PERSONAL_DATA_PREFIX, PersonalDataCodec, PersonalDataError, type PersonalDataRules,
} from '../../../src/infra/personal-data/codec.ts';
import type { KeyStore } from '../../../src/infra/personal-data/key-store.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { newEvent } from '../../support/events.ts';

const rules: PersonalDataRules = {
  UserRegistered: { subjectField: 'userId', fields: ['email', 'displayName', 'profile', 'age'] },
  UserRenamed: { subjectField: 'userId', fields: ['displayName'] },
};

let position = 0n;
function recorded(event: NewEvent): RecordedEvent {
  position += 1n;
  return { ...event, stream: 'user-test', revision: position - 1n, position };
}

function registered(userId: string, overrides: Record<string, unknown> = {}): NewEvent {
  return newEvent('UserRegistered', {
    userId,
    email: `${userId}@example.com`,
    displayName: `Name of ${userId}`,
    profile: { city: 'Lisbon', tags: ['a', 'b'] },
    age: 42,
    plan: 'free',
    ...overrides,
  });
}

/** Replaces one character of the ciphertext part with another valid base64url character. */
function tamper(value: string, part: 'ciphertext' | 'tag' | 'iv'): string {
  const parts = value.slice(PERSONAL_DATA_PREFIX.length).split(':');
  const index = { iv: 2, ciphertext: 3, tag: 4 }[part];
  const text = parts[index]!;
  parts[index] = (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
  return PERSONAL_DATA_PREFIX + parts.join(':');
}

describe('PersonalDataCodec', () => {
  let keyStore: KeyStore;
  let masterKey: Buffer;
  let codec: PersonalDataCodec;

  beforeEach(() => {
    keyStore = new SqliteKeyStore(':memory:');
    masterKey = randomBytes(32);
    codec = new PersonalDataCodec({ keyStore, masterKey, rules });
  });
  afterEach(async () => {
    await keyStore.close();
  });

  it('round-trips strings, objects and numbers, and leaves everything else alone', async () => {
    const event = registered('u1', { displayName: null });
    const original = structuredClone(event.data);
    const encoded = await codec.encode(event);
    expect(encoded.id).toBe(event.id);
    expect(encoded.metadata).toEqual(event.metadata);
    const data = encoded.data as Record<string, unknown>;
    expect(data.userId).toBe('u1');
    expect(data.plan).toBe('free');
    expect(data.displayName).toBeNull(); // null is not encrypted
    for (const field of ['email', 'profile', 'age']) expect(data[field]).toMatch(/^pii:v1:/);

    const decoded = await codec.decode(recorded(encoded));
    expect(decoded.data).toEqual(event.data);
    expect(decoded.erasedFields).toBeUndefined();
    expect(event.data).toEqual(original); // the input is not mutated
  });

  it('leaves events without a rule, and absent fields, untouched', async () => {
    const other = newEvent('SomethingElse', { email: 'x@example.com' });
    expect(await codec.encode(other)).toBe(other);
    const partial = newEvent('UserRenamed', { userId: 'u1' });
    expect(await codec.encode(partial)).toBe(partial);
  });

  it('stores no plaintext', async () => {
    const event = registered('u2', { displayName: 'Zoë Quartermaine' });
    const stored = JSON.stringify((await codec.encode(event)).data);
    // (Short secrets like the age are left out: random ciphertext contains any two digits now and then.)
    for (const secret of ['u2@example.com', 'Zoë Quartermaine', 'Lisbon']) expect(stored).not.toContain(secret);
    for (const secret of ['u2@example.com', 'Zoë Quartermaine']) {
      expect(stored).not.toContain(Buffer.from(secret).toString('base64url'));
    }
  });

  it('encrypts each value with a fresh IV', async () => {
    const a = (await codec.encode(registered('u3'))).data as Record<string, string>;
    const b = (await codec.encode(registered('u3'))).data as Record<string, string>;
    expect(a.email).not.toBe(b.email);
  });

  it('returns values recorded before a rule existed as they are', async () => {
    const legacy = recorded(registered('u4'));
    const decoded = await codec.decode(legacy);
    expect(decoded.data).toEqual(legacy.data);
  });

  it('erases one subject: its fields read as ERASED and are listed, other subjects are unaffected', async () => {
    const alice = recorded(await codec.encode(registered('alice')));
    const bob = recorded(await codec.encode(registered('bob')));
    expect(await codec.erase('alice')).toBe(true);
    expect(await codec.erase('alice')).toBe(false);

    const erased = await codec.decode(alice);
    expect(erased.data).toEqual({
      userId: 'alice', email: ERASED, displayName: ERASED, profile: ERASED, age: ERASED, plan: 'free',
    });
    expect(erased.erasedFields).toEqual(['email', 'displayName', 'profile', 'age']);
    expect((await codec.decode(bob)).data).toEqual(registered('bob').data);
    expect(await keyStore.get('alice')).toBeUndefined();
  });

  it('after an erasure, refuses to record new personal data about the subject; old data stays ERASED', async () => {
    const old = recorded(await codec.encode(registered('carol')));
    await codec.erase('carol');
    await expect(codec.encode(registered('carol', { email: 'new@example.com' }))).rejects.toBeInstanceOf(SubjectErasedError);
    expect((await codec.decode(old)).data).toMatchObject({ email: ERASED });
    // and the same from an instance with a cold cache
    const other = new PersonalDataCodec({ keyStore, masterKey, rules });
    expect((await other.decode(old)).erasedFields).toEqual(['email', 'displayName', 'profile', 'age']);
    await expect(other.encode(registered('carol'))).rejects.toBeInstanceOf(SubjectErasedError);
  });

  it('makes an erasure on another instance effective exactly when the cache TTL runs out', async () => {
    let now = 1_000_000;
    const reader = new PersonalDataCodec({ keyStore, masterKey, rules, cacheTtlMs: 100, now: () => now });
    const event = recorded(await codec.encode(registered('dave')));
    expect((await reader.decode(event)).data).toMatchObject({ email: 'dave@example.com' }); // now cached
    await codec.erase('dave');
    now += 99;
    expect((await reader.decode(event)).data).toMatchObject({ email: 'dave@example.com' }); // stale within TTL
    now += 1;
    expect((await reader.decode(event)).data).toMatchObject({ email: ERASED });
  });

  it('creates one key per subject even when instances race', async () => {
    const codecs = Array.from({ length: 4 }, () => new PersonalDataCodec({ keyStore, masterKey, rules }));
    const events = await Promise.all(codecs.flatMap((c) => [c.encode(registered('erin')), c.encode(registered('erin'))]));
    for (const c of codecs) {
      for (const e of events) expect((await c.decode(recorded(e))).data).toMatchObject({ email: 'erin@example.com' });
    }
  });

  it.each(['ciphertext', 'tag', 'iv'] as const)('detects a tampered %s', async (part) => {
    const encoded = await codec.encode(registered('frank'));
    const data = encoded.data as Record<string, string>;
    const tampered = recorded({ ...encoded, data: { ...data, email: tamper(data.email!, part) } });
    await expect(codec.decode(tampered)).rejects.toThrow(PersonalDataError);
    await expect(codec.decode(tampered)).rejects.toThrow(/field "email": encrypted value failed authentication/);
  });

  it('rejects a malformed encrypted value', async () => {
    const event = recorded(registered('gina', { email: 'pii:v1:not-enough-parts' }));
    await expect(codec.decode(event)).rejects.toThrow(/malformed encrypted value/);
  });

  it('binds a ciphertext to its field, event type and subject', async () => {
    const encoded = await codec.encode(registered('hank'));
    const data = encoded.data as Record<string, string>;

    const swapped = recorded({ ...encoded, data: { ...data, displayName: data.email } });
    await expect(codec.decode(swapped)).rejects.toThrow(/field "displayName": encrypted value failed authentication/);

    const otherType = recorded(newEvent('UserRenamed', { userId: 'hank', displayName: data.displayName }));
    await expect(codec.decode(otherType)).rejects.toThrow(/encrypted value failed authentication/);

    await codec.encode(registered('ivy')); // ivy has a key too
    const otherSubject = recorded({ ...encoded, data: { ...data, userId: 'ivy' } });
    await expect(codec.decode(otherSubject)).rejects.toThrow(/belongs to another subject/);
    // Relabelled as ivy's, it names a key ivy never had: unverifiable without that key, so ERASED.
    const relabelled = data.email!.replace(
      Buffer.from('hank').toString('base64url'), Buffer.from('ivy').toString('base64url'),
    );
    const forged = recorded({ ...encoded, data: { userId: 'ivy', email: relabelled } });
    expect((await codec.decode(forged)).data).toEqual({ userId: 'ivy', email: ERASED });
    // ...and with ivy's key id as well, it fails authentication under ivy's key.
    const ivyKid = ((await codec.encode(registered('ivy'))).data as Record<string, string>).email!.split(':')[3]!;
    const parts = relabelled.split(':');
    parts[3] = ivyKid;
    const forgedKid = recorded({ ...encoded, data: { userId: 'ivy', email: parts.join(':') } });
    await expect(codec.decode(forgedKid)).rejects.toThrow(/encrypted value failed authentication/);
  });

  it('says which event type and field are wrong when the subject is missing', async () => {
    await expect(codec.encode(newEvent('UserRegistered', { email: 'x@example.com' })))
      .rejects.toThrow('Event type UserRegistered: data.userId must be a non-empty string naming the data subject');
    await expect(codec.encode(newEvent('UserRegistered', { userId: '', email: 'x@example.com' })))
      .rejects.toThrow(PersonalDataError);
  });

  it('refuses to decode with the wrong master key', async () => {
    const event = recorded(await codec.encode(registered('jack')));
    const wrong = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules });
    await expect(wrong.decode(event)).rejects.toThrow(/wrong master key/);
  });

  it('rejects rules that would encrypt the subject field, and bad master keys', () => {
    expect(() => new PersonalDataCodec({
      keyStore, masterKey, rules: { X: { subjectField: 'userId', fields: ['userId', 'email'] } },
    })).toThrow(/subject field "userId" cannot itself be encrypted/);
    expect(() => new PersonalDataCodec({ keyStore, masterKey: randomBytes(16), rules })).toThrow(/32 bytes/);
  });
});

describe('PersonalDataCodec subject keys', () => {
  let keyStore: KeyStore;
  let codec: PersonalDataCodec;

  beforeEach(() => {
    keyStore = new SqliteKeyStore(':memory:');
    codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules });
  });
  afterEach(async () => {
    await keyStore.close();
  });

  it('derives one stable key per subject and purpose, readable by its key id', async () => {
    const blob = await codec.subjectKeyForWriting('u1', 'blob');
    expect(blob.key).toHaveLength(32);
    expect((await codec.subjectKeyForWriting('u1', 'blob')).key.equals(blob.key)).toBe(true);
    expect((await codec.subjectKeyForReading('u1', blob.kid, 'blob'))?.key.equals(blob.key)).toBe(true);
    expect((await codec.subjectKeyForWriting('u1', 'other')).key.equals(blob.key)).toBe(false);
    expect((await codec.subjectKeyForWriting('u2', 'blob')).key.equals(blob.key)).toBe(false);
  });

  it('never hands out the key that seals fields', async () => {
    const masterKey = randomBytes(32);
    const own = new PersonalDataCodec({ keyStore, masterKey, rules });
    const blob = await own.subjectKeyForWriting('u1', 'blob');
    const wrapped = (await keyStore.get('u1'))!;
    const decipher = createDecipheriv('aes-256-gcm', masterKey, wrapped.subarray(1, 13));
    decipher.setAAD(Buffer.from('u1'));
    decipher.setAuthTag(wrapped.subarray(13, 29));
    const material = Buffer.concat([decipher.update(wrapped.subarray(29)), decipher.final()]);
    expect(blob.kid).toBe(material.subarray(0, 8).toString('base64url'));
    expect(material.subarray(8)).toHaveLength(32);
    expect(material.subarray(8).equals(blob.key)).toBe(false);
  });

  it('gives nothing once the subject is erased, and refuses to make a new key', async () => {
    const blob = await codec.subjectKeyForWriting('u1', 'blob');
    await codec.erase('u1');
    expect(await codec.subjectKeyForReading('u1', blob.kid, 'blob')).toBeUndefined();
    await expect(codec.subjectKeyForWriting('u1', 'blob')).rejects.toThrow(SubjectErasedError);
  });

  it('gives nothing for a key id that is not the subject’s', async () => {
    await codec.subjectKeyForWriting('u1', 'blob');
    expect(await codec.subjectKeyForReading('u1', 'AAAAAAAAAAA', 'blob')).toBeUndefined();
    expect(await codec.subjectKeyForReading('nobody', 'AAAAAAAAAAA', 'blob')).toBeUndefined();
  });

  it('refuses an empty subject, key id or a malformed purpose', async () => {
    await expect(codec.subjectKeyForWriting('', 'blob')).rejects.toThrow(PersonalDataError);
    await expect(codec.subjectKeyForWriting('u1', 'Blob key')).rejects.toThrow(PersonalDataError);
    await expect(codec.subjectKeyForReading('u1', '', 'blob')).rejects.toThrow(PersonalDataError);
  });
});
