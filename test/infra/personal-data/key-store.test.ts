import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresKeyStore } from '../../../src/infra/personal-data/postgres-key-store.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';
import { describeKeyStoreContract } from './key-store.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-key-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeKeyStoreContract('SqliteKeyStore', async () => new SqliteKeyStore(join(dir, 'data', 'keys.sqlite')));

describe('SqliteKeyStore', () => {
  it('works in memory', async () => {
    const store = new SqliteKeyStore(':memory:');
    const key = Buffer.from('wrapped');
    expect(await store.putIfAbsent('s', key)).toEqual(key);
    expect(await store.delete('s')).toBe(true);
    await store.close();
    await expect(store.get('s')).rejects.toThrow(/closed/);
  });

  it('leaves no copy of an erased key in the database file or its WAL', async () => {
    const path = join(dir, 'shred', 'keys.sqlite');
    const store = new SqliteKeyStore(path);
    const wrapped = randomBytes(69);
    await store.putIfAbsent('to-erase', wrapped);
    await store.putIfAbsent('to-keep', randomBytes(69));
    const files = () => [path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
    expect(files().some((bytes) => bytes.includes(wrapped))).toBe(true);
    expect(await store.delete('to-erase')).toBe(true);
    expect(files().some((bytes) => bytes.includes(wrapped))).toBe(false);
    await store.close();
  });
});

const skip = postgresSkipReason('PostgresKeyStore');

describe.skipIf(skip !== undefined)('PostgresKeyStore', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('creates its table once even when instances start together', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresKeyStore.open(db.url)));
    for (const s of stores) await s.close();
  });

  describeKeyStoreContract('PostgresKeyStore', () => PostgresKeyStore.open(db.url));
});
