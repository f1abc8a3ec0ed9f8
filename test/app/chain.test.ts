import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { PostgresChainStore } from '../../src/infra/audit/postgres-chain-store.ts';
import { SIGNING_KEY_FILE } from '../../src/infra/audit/signing-key.ts';
import { SqliteChainStore } from '../../src/infra/audit/sqlite-chain-store.ts';
import { verifyChain } from '../../src/infra/audit/verify.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, postgresSkipReason } from '../support/postgres.ts';

async function sealsAndVerifies(env: Record<string, string>, openRawLog: () => Promise<EventStore>) {
  const app = await createApp(loadConfig(env), createLogger('silent', false));
  let publicKey: string;
  try {
    publicKey = app.signingPublicKey();
    expect(publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const userId = uuidv7();
    const result = await app.users.register({ userId, email: 'grace@example.com', displayName: 'Grace Hopper' }, app.commandContext('tester'));
    expect(await app.sealer.waitFor(result.position!, 60_000)).toBe(true);
    // Erasure shreds the key; the chain over the ciphertext stays valid.
    await app.users.eraseData({ userId }, app.commandContext(userId));
  } finally {
    await app.close(); // a clean shutdown seals and signs what is left
  }
  const raw = await openRawLog();
  const chain = raw.kind === 'postgres' ? await PostgresChainStore.open(env.DATABASE_URL!) : new SqliteChainStore(join(env.DATA_DIR!, 'events.sqlite'));
  try {
    const verified = await verifyChain({ log: raw, chain, publicKey });
    expect(verified).toMatchObject({ ok: true });
    if (verified.ok) {
      expect(verified.events).toBeGreaterThanOrEqual(2);
      expect(verified.lastCheckpoint?.seq).toBe(verified.headSeq);
    }
  } finally {
    await chain.close();
    await raw.close();
  }
}

describe('the app seals its log', () => {
  it('embedded: a signing key is generated into DATA_DIR (0600), and the log verifies with the public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-app-chain-'));
    try {
      await sealsAndVerifies({ DATA_DIR: dir }, async () => new SqliteEventStore(join(dir, 'events.sqlite')));
      expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  const skip = postgresSkipReason('the app seals its log on PostgreSQL');
  it.skipIf(skip)('PostgreSQL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-app-chain-'));
    const database = await createTestDatabase();
    try {
      const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const env = { DATA_DIR: dir, DATABASE_URL: database.url, MASTER_KEY: Buffer.alloc(32, 5).toString('base64'), CHAIN_SIGNING_KEY: pem };
      await sealsAndVerifies(env, () => PostgresEventStore.open({ connectionString: database.url }));
    } finally {
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
