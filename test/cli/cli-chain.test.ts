// verify, seal, export and import through the `evident` CLI as a child process: the embedded stores
// of a realistic workload, a row tampered with in events.sqlite, verification with only the exported
// public key, and export → import into an empty PostgreSQL database with the same head hash and the
// same read models.
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableHash } from '../../src/cli/read-models.ts';
import { SIGNING_KEY_FILE } from '../../src/infra/audit/signing-key.ts';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { PostgresReadDb } from '../../src/infra/read-db/postgres-read-db.ts';
import type { ReadDb } from '../../src/infra/read-db/port.ts';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.ts';
import { prepareWorkload, runCli, runJson, type CliResult, type Workload } from './support.ts';

const pgSkip = postgresSkipReason('evident export → import into PostgreSQL');

interface VerifyOk {
  ok: true;
  events: number;
  headSeq: number;
  headHash: string;
  checkpoints: number;
  lastCheckpoint: { seq: number } | null;
  unsealedTail: number;
  keyId: string | null;
}
interface VerifyBroken { ok: false; seq: number; position: string | null; reason: string; detail: string }
interface ExportJson { dir: string; manifest: { eventCount: number; headSeq: number; headHash: string; checkpointCount: number }; keys: { keys: number; erased: number; sensitive: true } | null }

/** An error the CLI reports: the exit code, exactly one line on stderr, no stack trace. */
function expectOneLine(result: CliResult, code: number, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

async function verifyJson(args: string[], env: Record<string, string>): Promise<{ code: number | null; body: VerifyOk | VerifyBroken }> {
  const result = await runCli(['--json', 'verify', ...args], env);
  if (result.code !== 0 && result.code !== 1) throw new Error(`verify exited ${result.code}: ${result.stderr}`);
  return { code: result.code, body: JSON.parse(result.stdout) as VerifyOk | VerifyBroken };
}

const READ_MODEL_TABLES = ['users', 'conversations', 'messages', 'documents'];

async function hashes(db: ReadDb): Promise<Record<string, { rows: number; hash: string }>> {
  const out: Record<string, { rows: number; hash: string }> = {};
  for (const table of READ_MODEL_TABLES) out[table] = await tableHash(db, 'public', table);
  return out;
}

describe('evident verify / seal / export / import', () => {
  let w: Workload;
  let scratch: string;
  let totalEvents: number;

  beforeAll(async () => {
    w = await prepareWorkload();
    scratch = mkdtempSync(join(tmpdir(), 'evident-cli-chain-'));
    const db = new DatabaseSync(join(w.dataDir, 'events.sqlite'), { readOnly: true });
    try {
      totalEvents = Number((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    } finally {
      db.close();
    }
  }, 300_000);

  afterAll(async () => {
    await w?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('verify is ok after the workload; seal covers the unsealed tail with a signed checkpoint', { timeout: 300_000 }, async () => {
    const first = await verifyJson([], w.env);
    expect(first.code).toBe(0);
    const before = first.body as VerifyOk;
    expect(before.ok).toBe(true);
    expect(before.events + before.unsealedTail).toBe(totalEvents);

    const sealed = await runJson<{ sealedNow: number; headSeq: number; headHash: string }>(['seal'], w.env);
    expect(sealed.headSeq).toBe(totalEvents);
    expect(sealed.sealedNow).toBe(before.unsealedTail);

    const after = (await verifyJson([], w.env)).body as VerifyOk;
    expect(after).toMatchObject({ ok: true, events: totalEvents, headSeq: totalEvents, headHash: sealed.headHash, unsealedTail: 0 });
    expect(after.lastCheckpoint?.seq).toBe(totalEvents);
    expect(after.checkpoints).toBeGreaterThanOrEqual(1);
    const fromCheckpoint = (await verifyJson(['--from', 'last-checkpoint'], w.env)).body as VerifyOk;
    expect(fromCheckpoint).toMatchObject({ ok: true, events: 0, headHash: sealed.headHash, unsealedTail: 0 });

    const human = await runCli(['verify'], w.env);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`chain ok: ${totalEvents} events recomputed`);
    expect(human.stdout).toContain(sealed.headHash);
  });

  it('an auditor verifies a copy without the private key, with only the exported public key', { timeout: 300_000 }, async () => {
    const pem = await runCli(['verify', '--export-public-key'], w.env);
    expect(pem.code, pem.stderr).toBe(0);
    expect(pem.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    const keyFile = join(scratch, 'chain-public.pem');
    writeFileSync(keyFile, pem.stdout);

    const copy = join(scratch, 'auditor-copy');
    cpSync(w.dataDir, copy, { recursive: true });
    rmSync(join(copy, SIGNING_KEY_FILE));
    const env = { DATA_DIR: copy };
    const own = (await verifyJson([], w.env)).body as VerifyOk;
    const audited = await verifyJson(['--public-key', keyFile], env);
    expect(audited.code).toBe(0);
    expect(audited.body).toMatchObject({ ok: true, events: totalEvents, headHash: own.headHash, keyId: own.keyId });

    // Without the key there is nothing to check the signed checkpoints with.
    expectOneLine(await runCli(['verify'], env), 3, /^evident: No chain signing key here/);
    // Another key: the checkpoints were not signed by it.
    const other = join(scratch, 'other-public.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string);
    const wrong = await verifyJson(['--public-key', other], env);
    expect(wrong.code).toBe(1);
    expect(wrong.body).toMatchObject({ ok: false, reason: 'bad-signature' });
    // After a key rotation both public keys are given.
    const both = await verifyJson(['--public-key', other, '--public-key', keyFile], env);
    expect(both.body).toMatchObject({ ok: true, headHash: own.headHash });

    // The walk-through of docs/audit.md: an export imported into an empty embedded store of the auditor's own.
    const auditCopy = join(scratch, 'audit-copy');
    await runJson(['export', '--out', auditCopy], w.env);
    const auditEnv = { DATA_DIR: join(scratch, 'audit') };
    const imported = await runJson<{ events: number; headHash: string; target: string }>(['import', '--from', auditCopy], auditEnv);
    expect(imported).toMatchObject({ events: totalEvents, headHash: own.headHash, target: 'sqlite' });
    const auditVerified = await verifyJson(['--public-key', keyFile], auditEnv);
    expect(auditVerified.body).toMatchObject({ ok: true, events: totalEvents, headHash: own.headHash, unsealedTail: 0 });
  });

  it.skipIf(pgSkip !== undefined)('export → import into an empty PostgreSQL database: same head hash, same read models', { timeout: 600_000 }, async () => {
    const dir = join(scratch, 'backup');
    const exported = await runJson<ExportJson>(['export', '--out', dir, '--keys'], w.env);
    expect(exported.manifest).toMatchObject({ eventCount: totalEvents, headSeq: totalEvents });
    expect(exported.keys).toMatchObject({ sensitive: true });
    expect(exported.keys!.erased).toBeGreaterThanOrEqual(1); // Bob and his conversation's key
    const own = (await verifyJson([], w.env)).body as VerifyOk;
    expect(exported.manifest.headHash).toBe(own.headHash);

    const target = await createTestDatabase();
    const targetDir = join(scratch, 'target-data');
    mkdirSync(targetDir);
    const env = {
      DATABASE_URL: target.url, DATA_DIR: targetDir,
      MASTER_KEY: readFileSync(join(w.dataDir, 'master.key'), 'utf8').trim(),
      CHAIN_SIGNING_KEY: readFileSync(join(w.dataDir, SIGNING_KEY_FILE), 'utf8'),
    };
    let source: PgliteReadDb | undefined;
    let imported: PostgresReadDb | undefined;
    try {
      const result = await runJson<{ events: number; headHash: string; manifestHeadHash: string; keys: { keys: number; erased: number } }>(
        ['import', '--from', dir, '--keys'], env);
      expect(result).toMatchObject({ events: totalEvents, headHash: own.headHash, manifestHeadHash: own.headHash });
      expect(result.keys).toEqual({ keys: exported.keys!.keys, erased: exported.keys!.erased });

      const verified = (await verifyJson([], env)).body as VerifyOk;
      expect(verified).toMatchObject({ ok: true, events: totalEvents, headHash: own.headHash, unsealedTail: 0, checkpoints: exported.manifest.checkpointCount });

      // A second import into the now filled store is refused.
      expectOneLine(await runCli(['import', '--from', dir], env), 2, /^evident: The target event log is not empty/);

      // The read models built on PostgreSQL from the imported log equal the embedded ones.
      const replayed = await runCli(['replay', '--as', w.admin.email], env);
      expect(replayed.code, replayed.stderr).toBe(0);
      source = await PgliteReadDb.open({ dataDir: join(w.dataDir, 'read-models') });
      imported = await PostgresReadDb.open({ connectionString: target.url });
      const a = await hashes(source);
      const b = await hashes(imported);
      expect(a.messages!.rows).toBeGreaterThan(0);
      expect(a.users!.rows).toBeGreaterThan(0);
      expect(b).toEqual(a);

      // A row edited in PostgreSQL: verify on the target fails at that position.
      const client = new pg.Client({ connectionString: target.url });
      await client.connect();
      let position: string;
      try {
        const { rows } = await client.query<{ position: string }>(`UPDATE evident_events SET data = jsonb_set(data, '{title}', '"Something else"')
          WHERE global_position = (SELECT global_position FROM evident_events WHERE type = 'ConversationRenamed' LIMIT 1) RETURNING global_position::text AS position`);
        position = rows[0]!.position;
      } finally {
        await client.end();
      }
      const broken = await verifyJson([], env);
      expect(broken.code).toBe(1);
      expect(broken.body).toMatchObject({ ok: false, reason: 'hash-mismatch', position });
    } finally {
      await source?.close();
      await imported?.close();
      await target.drop();
    }
  });

  it('bad arguments and refusals: exit 2, one line', { timeout: 300_000 }, async () => {
    expectOneLine(await runCli(['verify', '--from', 'middle'], w.env), 2, /^error: option '--from <where>' argument 'middle' is invalid/);
    expectOneLine(await runCli(['verify', '--public-key', join(scratch, 'nope.pem')], w.env), 2, /^evident: Cannot read the public key file/);
    expectOneLine(await runCli(['verify', '--public-key', join(w.dataDir, SIGNING_KEY_FILE)], w.env), 2, /holds a private key/);
    expectOneLine(await runCli(['export'], w.env), 2, /^error: required option '--out <dir>' not specified/);
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'something'), 'x');
    expectOneLine(await runCli(['export', '--out', full], w.env), 2, /is not an empty directory/);
    expectOneLine(await runCli(['import', '--from', join(scratch, 'missing')], w.env), 2, /is not a directory/);
    // Import into the workload's own, non-empty store.
    const dir = join(scratch, 'backup-2');
    await runJson(['export', '--out', dir], w.env);
    expectOneLine(await runCli(['import', '--from', dir], w.env), 2, /^evident: The target event log is not empty/);
    expectOneLine(await runCli(['import', '--from', dir, '--keys'], w.env), 2, /has no keys\.ndjson/);
  });

  it('a row deleted or two rows reordered in events.sqlite make verify fail at that position', { timeout: 300_000 }, async () => {
    const tamper = async (name: string, change: (db: DatabaseSync, a: number, b: number) => void) => {
      const copy = join(scratch, name);
      cpSync(w.dataDir, copy, { recursive: true });
      const db = new DatabaseSync(join(copy, 'events.sqlite'));
      try {
        const [a, b] = (db.prepare('SELECT position FROM events ORDER BY position LIMIT 2 OFFSET 10').all() as Array<{ position: number }>).map((r) => Number(r.position));
        change(db, a!, b!);
        return { env: { DATA_DIR: copy }, a: a!, b: b! };
      } finally {
        db.close();
      }
    };
    const deleted = await tamper('deleted', (db, a) => db.prepare('DELETE FROM events WHERE position = ?').run(a));
    const afterDelete = await verifyJson([], deleted.env);
    expect(afterDelete.code).toBe(1);
    expect(afterDelete.body).toMatchObject({ ok: false, reason: 'missing-event', position: String(deleted.a) });

    const swapped = await tamper('swapped', (db, a, b) => {
      db.exec('BEGIN');
      db.prepare('UPDATE events SET position = -1 WHERE position = ?').run(a);
      db.prepare('UPDATE events SET position = ? WHERE position = ?').run(a, b);
      db.prepare('UPDATE events SET position = ? WHERE position = -1').run(b);
      db.exec('COMMIT');
    });
    const afterSwap = await verifyJson([], swapped.env);
    expect(afterSwap.code).toBe(1);
    expect(afterSwap.body).toMatchObject({ ok: false, reason: 'hash-mismatch', position: String(swapped.a) });
  });

  it('a row edited in events.sqlite makes verify fail at that position (and export refuse)', { timeout: 300_000 }, async () => {
    const file = join(w.dataDir, 'events.sqlite');
    const db = new DatabaseSync(file);
    let position: number;
    try {
      const row = db.prepare("SELECT position, data FROM events WHERE type = 'ConversationRenamed' LIMIT 1").get() as { position: number; data: string };
      position = Number(row.position);
      const data = JSON.parse(row.data) as Record<string, unknown>;
      db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify({ ...data, title: 'Something else' }), position);
    } finally {
      db.close();
    }
    const broken = await verifyJson([], w.env);
    expect(broken.code).toBe(1);
    expect(broken.body).toMatchObject({ ok: false, reason: 'hash-mismatch', position: String(position) });
    const human = await runCli(['verify'], w.env);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`CHAIN BROKEN at seq ${(broken.body as VerifyBroken).seq} (position ${position}): hash-mismatch`);

    const refused = await runCli(['export', '--out', join(scratch, 'after-tamper')], w.env);
    expectOneLine(refused, 1, /differs from its chain/);
  });
});
