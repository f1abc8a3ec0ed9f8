// Item keys (keyScope): one conversation's fields sealed under its own key, so it can be shredded
// without its owner, while values recorded under the owner's key before still read.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sessionPersonalData } from '../../../src/domain/account/session.ts';
import type { NewEvent, RecordedEvent } from '../../../src/infra/event-store/port.ts';
import { ERASED, itemSubject, PersonalDataCodec, PersonalDataError, type PersonalDataRules } from '../../../src/infra/personal-data/codec.ts';
import { SubjectErasedError } from '../../../src/infra/personal-data/key-store.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { newEvent } from '../../support/events.ts';

const scoped: PersonalDataRules = {
  UserMessageSent: { subjectField: 'ownerId', fields: ['content'], keyScope: { kind: 'conversation', field: 'conversationId' } },
};
const unscoped: PersonalDataRules = { UserMessageSent: { subjectField: 'ownerId', fields: ['content'] } };

let position = 0n;
const recorded = (event: NewEvent): RecordedEvent => {
  position += 1n;
  return { ...event, stream: 'conversation-x', revision: position - 1n, position };
};
const message = (ownerId: string, conversationId: string, content: string) =>
  newEvent('UserMessageSent', { ownerId, conversationId, messageId: `m-${content}`, content });
const subjectOf = (sealed: unknown) => Buffer.from(String(sealed).split(':')[2]!, 'base64url').toString('utf8');

describe('PersonalDataCodec item keys', () => {
  let keyStore: SqliteKeyStore;
  let masterKey: Buffer;
  let codec: PersonalDataCodec;
  beforeEach(() => {
    keyStore = new SqliteKeyStore(':memory:');
    masterKey = randomBytes(32);
    codec = new PersonalDataCodec({ keyStore, masterKey, rules: scoped });
  });
  afterEach(async () => keyStore.close());

  it('seals under the item key, and shredding one item leaves the others and the person readable', async () => {
    const a = await codec.encode(message('u1', 'c1', 'hello a'));
    const b = await codec.encode(message('u1', 'c2', 'hello b'));
    expect(subjectOf((a.data as { content: string }).content)).toBe(itemSubject('u1', 'conversation', 'c1'));
    expect(await codec.erase(itemSubject('u1', 'conversation', 'c1'))).toBe(true);
    const readA = await codec.decode(recorded(a));
    expect((readA.data as { content: string }).content).toBe(ERASED);
    expect(readA.erasedFields).toEqual(['content']);
    expect((await codec.decode(recorded(b))).data).toMatchObject({ content: 'hello b' });
    await expect(codec.encode(message('u1', 'c1', 'again'))).rejects.toBeInstanceOf(SubjectErasedError);
  });

  it('still reads values recorded under the person key before the rule had a keyScope; erasing the person shreds both', async () => {
    const old = await new PersonalDataCodec({ keyStore, masterKey, rules: unscoped }).encode(message('u1', 'c1', 'old'));
    expect(subjectOf((old.data as { content: string }).content)).toBe('u1');
    const fresh = await codec.encode(message('u1', 'c1', 'new'));
    expect((await codec.decode(recorded(old))).data).toMatchObject({ content: 'old' });
    expect((await codec.decode(recorded(fresh))).data).toMatchObject({ content: 'new' });
    expect(await codec.erase('u1')).toBe(true);
    expect((await codec.decode(recorded(old))).data).toMatchObject({ content: ERASED });
    expect((await codec.decode(recorded(fresh))).data).toMatchObject({ content: ERASED });
    await expect(codec.encode(message('u1', 'c9', 'later'))).rejects.toBeInstanceOf(SubjectErasedError);
  });

  it('refuses a ciphertext moved to another conversation or owner', async () => {
    const sealed = await codec.encode(message('u1', 'c1', 'secret'));
    const moved = { ...sealed, data: { ...(sealed.data as object), conversationId: 'c2' } };
    await expect(codec.decode(recorded(moved))).rejects.toBeInstanceOf(PersonalDataError);
    const otherOwner = { ...sealed, data: { ...(sealed.data as object), ownerId: 'u2' } };
    await expect(codec.decode(recorded(otherOwner))).rejects.toBeInstanceOf(PersonalDataError);
  });

  it('needs the item field', async () => {
    await expect(codec.encode(newEvent('UserMessageSent', { ownerId: 'u1', content: 'x' }))).rejects.toBeInstanceOf(PersonalDataError);
  });

  it('SessionStarted: new sessions are sealed under their own key, ones recorded before stay readable under the user key', async () => {
    expect(sessionPersonalData.SessionStarted).toEqual({
      subjectField: 'userId', fields: ['clientAddress', 'userAgent'], keyScope: { kind: 'session', field: 'sessionId' },
    });
    const session = (sessionId: string, userAgent: string) => newEvent('SessionStarted', {
      sessionId, userId: 'u1', tokenHash: 'a'.repeat(64), expiresAt: '2026-12-31T00:00:00.000Z', clientAddress: '192.0.2.7', userAgent,
    });
    const before = new PersonalDataCodec({ keyStore, masterKey, rules: { SessionStarted: { subjectField: 'userId', fields: ['clientAddress', 'userAgent'] } } });
    const sessions = new PersonalDataCodec({ keyStore, masterKey, rules: sessionPersonalData });
    const old = await before.encode(session('s0', 'Old Agent'));
    const s1 = await sessions.encode(session('s1', 'Agent One'));
    const s2 = await sessions.encode(session('s2', 'Agent Two'));
    expect(subjectOf((old.data as { userAgent: string }).userAgent)).toBe('u1');
    expect(subjectOf((s1.data as { userAgent: string }).userAgent)).toBe(itemSubject('u1', 'session', 's1'));
    expect(await sessions.erase(itemSubject('u1', 'session', 's1'))).toBe(true);
    const read1 = await sessions.decode(recorded(s1));
    expect(read1.data).toMatchObject({ clientAddress: ERASED, userAgent: ERASED });
    expect(read1.erasedFields).toEqual(['clientAddress', 'userAgent']);
    expect((await sessions.decode(recorded(s2))).data).toMatchObject({ clientAddress: '192.0.2.7', userAgent: 'Agent Two' });
    expect((await sessions.decode(recorded(old))).data).toMatchObject({ userAgent: 'Old Agent' });
    expect(await sessions.erase('u1')).toBe(true);
    expect((await sessions.decode(recorded(old))).data).toMatchObject({ userAgent: ERASED });
    expect((await sessions.decode(recorded(s2))).data).toMatchObject({ userAgent: ERASED });
  });
});
