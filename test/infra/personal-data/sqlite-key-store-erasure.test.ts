// A deleted key leaves no copy in keys.sqlite or its WAL (secure_delete, truncating checkpoint), even
// when many keys share pages that split and merge: a wrapped key next to master.key would make the log
// readable again.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { findOnDisk } from '../../commands/erasure-support.ts';

describe('SqliteKeyStore erasure on disk', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([['open', false], ['closed', true]])('no deleted wrapped key is left in any file (store %s)', async (_state, close) => {
    dir = mkdtempSync(join(tmpdir(), 'evident-keys-'));
    const store = SqliteKeyStore.inDataDir(dir);
    const keys = Array.from({ length: 600 }, (_, i) => ({ subject: `subject-${i}-${randomBytes(8).toString('hex')}`, wrapped: randomBytes(60) }));
    for (const key of keys) await store.putIfAbsent(key.subject, key.wrapped);
    const erased = keys.filter((_, i) => i % 3 === 0 || (i > 200 && i < 400));
    for (const key of erased) expect(await store.delete(key.subject)).toBe(true);
    if (close) await store.close();

    const found = findOnDisk(dir, keys.map((key) => key.wrapped));
    const leftovers = erased.filter((key) => found.get(key.wrapped)!.length > 0);
    expect(leftovers.map((key) => key.subject)).toEqual([]);
    const kept = keys.filter((key) => !erased.includes(key));
    expect(kept.filter((key) => found.get(key.wrapped)!.length === 0)).toEqual([]);
    if (!close) await store.close();
  });
});
