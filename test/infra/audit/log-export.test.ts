import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { exportKeys, exportLog, ExportIntegrityError } from '../../../src/infra/audit/log-export.ts';
import { importKeys, importLog, ImportTargetNotEmptyError, ImportVerificationError } from '../../../src/infra/audit/log-import.ts';
import { publicKeyPem } from '../../../src/infra/audit/signing-key.ts';
import { verifyChain } from '../../../src/infra/audit/verify.ts';
import type { RecordedEvent } from '../../../src/infra/event-store/port.ts';
import type { KeyStore } from '../../../src/infra/personal-data/key-store.ts';
import { PostgresKeyStore } from '../../../src/infra/personal-data/postgres-key-store.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';
import { newEvent } from '../../support/events.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';
import { postgresHarness, sealAll, signingKey, sqliteHarness, type ChainHarness } from './chain-harness.ts';

const root = mkdtempSync(join(tmpdir(), 'evident-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `export-${++dirs}`);

const keys = new Map<ChainHarness, KeyObject>();

/** A source log with several streams, multi-event appends, awkward JSON and an unsealed tail. */
async function fillSource(h: ChainHarness): Promise<void> {
  const key = signingKey();
  for (let i = 0; i < 25; i++) {
    await h.log.append(`conversation-${i % 4}`, [
      newEvent('MessageSent', { i, text: { v: 1, c: randomBytes(12).toString('base64') }, n: 1.5, big: 1e21, u: 'ü😀' }),
      ...(i % 3 === 0 ? [newEvent('ReplyFinished', { i, nested: { a: [1, { b: null }] } })] : []),
    ]);
  }
  await h.visible();
  await sealAll(h.log, h.chain, key, { batchSize: 8, checkpointEvery: 8 });
  await h.log.append('tail', [newEvent('Tested', { tail: true })]);
  await h.visible();
  keys.set(h, key);
}

const withoutPosition = (events: RecordedEvent[]) => events.map(({ position: _position, ...rest }) => rest);

async function exportImport(source: ChainHarness, target: ChainHarness) {
  await fillSource(source);
  const dir = freshDir();
  const manifest = await exportLog({ log: source.log, chain: source.chain, dir });
  expect(manifest).toMatchObject({ formatVersion: 1, sourceKind: source.kind, eventCount: 35, streamCount: 5, headSeq: 35, checkpointCount: 5 });
  expect(manifest.firstPosition).toBe('1');
  const result = await importLog({ dir, log: target.log, chain: target.chain });
  expect(result).toEqual({ events: 35, headHash: manifest.headHash });
  expect(withoutPosition(await target.log.readAll({ maxCount: 1000 }))).toEqual(withoutPosition(await source.log.readAll({ maxCount: 1000 })));
  // The imported chain verifies with the source's public key, checkpoints included.
  const publicKey = publicKeyPem(keys.get(source)!);
  const verified = await verifyChain({ log: target.log, chain: target.chain, publicKey });
  expect(verified).toMatchObject({ ok: true, headSeq: 35, headHash: manifest.headHash, checkpoints: 5, unsealedTail: 0 });
  return { dir, manifest };
}

describe('exportLog / importLog', () => {
  it('SQLite → SQLite: same events, same head hash, same checkpoints; a second import into the filled target is refused', async () => {
    const source = await sqliteHarness();
    const target = await sqliteHarness();
    try {
      const { dir } = await exportImport(source, target);
      await expect(importLog({ dir, log: target.log })).rejects.toBeInstanceOf(ImportTargetNotEmptyError);
    } finally {
      await source.dispose();
      await target.dispose();
    }
  }, 60_000);

  const skip = postgresSkipReason('export SQLite → import PostgreSQL');
  it.skipIf(skip)('SQLite → PostgreSQL gives the same head hash and the same raw events (positions aside)', async () => {
    const source = await sqliteHarness();
    const target = await postgresHarness();
    try {
      await exportImport(source, target);
    } finally {
      await source.dispose();
      await target.dispose();
    }
  }, 60_000);

  it('refuses an altered, truncated or unfinished export before writing anything', async () => {
    const source = await sqliteHarness();
    try {
      await fillSource(source);
      const dir = freshDir();
      await exportLog({ log: source.log, chain: source.chain, dir });
      const events = join(dir, 'events.ndjson');
      const original = readFileSync(events, 'utf8');
      const cases: Array<[string, () => void, RegExp]> = [
        ['edited', () => writeFileSync(events, original.replace('"i":3,', '"i":4,')), /does not match the manifest's sha256/],
        ['truncated', () => writeFileSync(events, original.split('\n').slice(0, 10).join('\n') + '\n'), /sha256/],
        ['manifest edited to match', () => {
          const lines = original.split('\n');
          writeFileSync(events, lines.slice(0, 10).join('\n') + '\n');
          const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
          writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, eventsSha256: sha256(readFileSync(events)) }));
        }, /holds 10 events, the manifest says 35/],
      ];
      for (const [what, spoil, error] of cases) {
        const target = await sqliteHarness();
        try {
          spoil();
          await expect(importLog({ dir, log: target.log, chain: target.chain }), what).rejects.toThrow(error);
          await expect(importLog({ dir, log: target.log }), what).rejects.toBeInstanceOf(ImportVerificationError);
          expect(await target.log.headPosition(), what).toBe(0n);
        } finally {
          await target.dispose();
        }
      }
      rmSync(join(dir, 'manifest.json'));
      const target = await sqliteHarness();
      await expect(importLog({ dir, log: target.log })).rejects.toThrow(/not a finished export/);
      await target.dispose();
    } finally {
      await source.dispose();
    }
  }, 60_000);

  it('export refuses a log that no longer matches its chain, and a directory that is not empty', async () => {
    const source = await sqliteHarness();
    try {
      await fillSource(source);
      await expect(exportLog({ log: source.log, chain: source.chain, dir: root })).rejects.toThrow(/not empty/);
      await source.sql(`UPDATE events SET data = json_set(data, '$.i', 99) WHERE position = 5`);
      await expect(exportLog({ log: source.log, chain: source.chain, dir: freshDir() })).rejects.toBeInstanceOf(ExportIntegrityError);
    } finally {
      await source.dispose();
    }
  }, 60_000);
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function keysRoundTrip(from: KeyStore, to: KeyStore) {
  const wrapped = randomBytes(61);
  await from.putIfAbsent('alice', wrapped);
  await from.putIfAbsent('bob', randomBytes(61));
  await from.delete('bob');
  await from.delete('never-had-a-key');
  const dir = freshDir();
  expect(await exportKeys({ keyStore: from, dir })).toMatchObject({ keys: 1, erased: 2 });
  await to.putIfAbsent('bob', randomBytes(61)); // a stale key on the target: the tombstone removes it
  expect(await importKeys({ keyStore: to, dir })).toEqual({ keys: 1, erased: 2 });
  expect(await to.get('alice')).toEqual(wrapped);
  expect(await to.get('bob')).toBeUndefined();
  await expect(to.putIfAbsent('never-had-a-key', randomBytes(61))).rejects.toThrow(/erased/);
  expect(readFileSync(join(dir, 'keys.ndjson'), 'utf8')).toContain(wrapped.toString('base64'));
}

describe('exportKeys / importKeys', () => {
  it('SQLite → SQLite: wrapped keys and tombstones, erased people stay erased', async () => {
    const a = new SqliteKeyStore(':memory:');
    const b = new SqliteKeyStore(':memory:');
    try {
      await keysRoundTrip(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  });

  const skip = postgresSkipReason('keys SQLite → PostgreSQL');
  it.skipIf(skip)('SQLite → PostgreSQL', async () => {
    const database = await createTestDatabase();
    const a = new SqliteKeyStore(':memory:');
    const b = await PostgresKeyStore.open(database.url);
    try {
      await keysRoundTrip(a, b);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  }, 60_000);
});
