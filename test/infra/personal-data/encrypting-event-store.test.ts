import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../../src/infra/event-store/sqlite-event-store.ts';
import { ERASED, PersonalDataCodec, type PersonalDataRules } from '../../../src/infra/personal-data/codec.ts';
import { EncryptingEventStore } from '../../../src/infra/personal-data/encrypting-event-store.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { newEvent, take } from '../../support/events.ts';

const rules: PersonalDataRules = {
  UserRegistered: { subjectField: 'userId', fields: ['email', 'displayName'] },
  MessagePosted: { subjectField: 'authorId', fields: ['text'] },
};

const registered = (userId: string, displayName: string): NewEvent =>
  newEvent('UserRegistered', { userId, email: `${userId}@example.com`, displayName });
const posted = (authorId: string, text: string): NewEvent => newEvent('MessagePosted', { authorId, text, chars: text.length });

describe('EncryptingEventStore over SqliteEventStore', () => {
  let dir: string;
  let inner: SqliteEventStore;
  let keyStore: SqliteKeyStore;
  let codec: PersonalDataCodec;
  let store: EncryptingEventStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'evident-encrypting-store-'));
    inner = new SqliteEventStore(join(dir, 'events.sqlite'));
    keyStore = new SqliteKeyStore(join(dir, 'keys.sqlite'));
    codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules });
    store = new EncryptingEventStore(inner, codec);
  });
  afterEach(async () => {
    await store.close();
    await keyStore.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function seed(): Promise<NewEvent[]> {
    const events = [
      registered('alice', 'Alice Liddell'),
      registered('bob', 'Bob Dylan'),
      posted('alice', 'Alice says hello'),
      posted('bob', 'Bob says hi'),
    ];
    await store.append('users', events.slice(0, 2));
    await store.append('chat-1', events.slice(2), { expectedRevision: 'no_stream' });
    return events;
  }

  it('writes ciphertext to the inner store and decodes on readStream and readAll', async () => {
    const events = await seed();
    const raw = JSON.stringify(await inner.readAll(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of ['alice@example.com', 'Alice Liddell', 'Alice says hello', 'Bob says hi']) {
      expect(raw).not.toContain(secret);
    }
    expect(raw).toContain('pii:v1:');

    const users = await store.readStream('users');
    expect(users.map((e) => e.data)).toEqual([events[0]!.data, events[1]!.data]);
    const backwards = await store.readStream('chat-1', { direction: 'backwards' });
    expect(backwards.map((e) => e.data)).toEqual([events[3]!.data, events[2]!.data]);
    const all = await store.readAll({ filter: { eventTypes: ['MessagePosted'] } });
    expect(all.map((e) => e.data)).toEqual([events[2]!.data, events[3]!.data]);
    expect(all.map((e) => e.id)).toEqual([events[2]!.id, events[3]!.id]);
  });

  it('decodes what a subscription delivers, catching up and live', async () => {
    const events = await seed();
    const subscription = store.subscribeToAll({ batchSize: 2 });
    try {
      const caughtUp = await take(subscription, 4);
      expect(caughtUp.map((e) => e.data)).toEqual(events.map((e) => e.data));
      const live = posted('bob', 'Bob, live');
      await store.append('chat-1', [live]);
      const [next] = await take(subscription, 1);
      expect(next?.data).toEqual(live.data);
    } finally {
      await subscription.close();
    }
  });

  it('close() ends a subscription that is waiting for events', async () => {
    const subscription = store.subscribeToAll();
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await subscription.close();
    expect((await pending).done).toBe(true);
  });

  it('after an erasure, reads and subscriptions deliver ERASED values instead of failing', async () => {
    await seed();
    const subscription = store.subscribeToAll({ batchSize: 1 });
    try {
      const [first] = await take(subscription, 1);
      expect(first?.data).toMatchObject({ userId: 'alice', displayName: 'Alice Liddell' });

      expect(await codec.erase('alice')).toBe(true);

      const rest = await take(subscription, 3);
      expect(rest.map((e) => e.data)).toEqual([
        { userId: 'bob', email: 'bob@example.com', displayName: 'Bob Dylan' },
        { authorId: 'alice', text: ERASED, chars: 16 },
        { authorId: 'bob', text: 'Bob says hi', chars: 11 },
      ]);
      expect(rest.map((e) => e.erasedFields)).toEqual([undefined, ['text'], undefined]);
    } finally {
      await subscription.close();
    }

    const replay = store.subscribeToAll();
    try {
      const [alice] = await take(replay, 1);
      expect(alice?.data).toEqual({ userId: 'alice', email: ERASED, displayName: ERASED });
      expect(alice?.erasedFields).toEqual(['email', 'displayName']);
    } finally {
      await replay.close();
    }
    const [alice] = await store.readStream('users', { maxCount: 1 });
    expect(alice?.erasedFields).toEqual(['email', 'displayName']);
  });

  it('keeps append semantics: retries are idempotent, conflicts still conflict', async () => {
    const event = registered('carol', 'Carol');
    const first = await store.append('users-2', [event]);
    expect(await store.append('users-2', [event])).toEqual(first);
    await expect(store.append('users-2', [registered('dan', 'Dan')], { expectedRevision: 'no_stream' }))
      .rejects.toMatchObject({ name: 'WrongExpectedRevisionError' });
    await expect(store.append('users-2', [registered('', 'Nobody')])).rejects.toThrow(/data\.userId/);
  });

  it('delegates kind, headPosition and close to the inner store', async () => {
    expect(store.kind).toBe('sqlite');
    expect(await store.headPosition()).toBe(0n);
    await seed();
    expect(await store.headPosition()).toBe(await inner.headPosition());
    await store.close();
    await expect(inner.append('x', [newEvent()])).rejects.toThrow(/closed/);
    expect(await keyStore.get('alice')).toBeInstanceOf(Buffer); // the key store is its owner's to close
  });
});
