import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointSignatureValid, signCheckpoint } from '../../../src/infra/audit/checkpoint-signature.ts';
import { keyIdOf, loadSigningKey, publicKeyPem, SIGNING_KEY_FILE, toPublicKey } from '../../../src/infra/audit/signing-key.ts';

const root = mkdtempSync(join(tmpdir(), 'evident-signing-key-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('chain signing key', () => {
  it('is generated into the data directory on first start (0600) and read back afterwards', () => {
    const dataDir = join(root, 'fresh');
    const key = loadSigningKey({ dataDir });
    expect(key.asymmetricKeyType).toBe('ed25519');
    expect(readdirSync(dataDir)).toEqual([SIGNING_KEY_FILE]);
    expect(statSync(join(dataDir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(keyIdOf(loadSigningKey({ dataDir }))).toBe(keyIdOf(key));
  });

  it('a configured PEM wins, with \\n escapes as an environment variable may carry them', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = (privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).replace(/\n/g, '\\n');
    expect(keyIdOf(loadSigningKey({ signingKey: pem, dataDir: join(root, 'unused') }))).toBe(keyIdOf(privateKey));
    expect(readdirSync(root)).not.toContain('unused');
  });

  it('refuses a malformed or non-Ed25519 key without echoing it, and never replaces a bad key file', () => {
    expect(() => loadSigningKey({ signingKey: 'not-a-key-s3cret', dataDir: root })).toThrow(/^Invalid chain signing key \(CHAIN_SIGNING_KEY\): not a PKCS#8 PEM/);
    expect(() => loadSigningKey({ signingKey: 'not-a-key-s3cret', dataDir: root })).not.toThrow(/s3cret/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => loadSigningKey({ signingKey: rsa, dataDir: root })).toThrow(/expected Ed25519/);
    const dataDir = join(root, 'broken');
    loadSigningKey({ dataDir });
    writeFileSync(join(dataDir, SIGNING_KEY_FILE), 'garbage');
    expect(() => loadSigningKey({ dataDir })).toThrow(/not a PKCS#8 PEM/);
  });

  it('signs checkpoints that verify with the exported public key alone, and with nothing else', () => {
    const key = loadSigningKey({ dataDir: join(root, 'sign') });
    const pem = publicKeyPem(key);
    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const checkpoint = signCheckpoint(key, { seq: 5, position: 9n, hash: 'ab'.repeat(32) }, new Date('2026-12-02T00:00:00Z'));
    expect(checkpoint.keyId).toBe(keyIdOf(pem));
    expect(checkpointSignatureValid(checkpoint, toPublicKey(pem))).toBe(true);
    expect(checkpointSignatureValid({ ...checkpoint, position: 10n }, toPublicKey(pem))).toBe(true); // positions are not signed
    for (const changed of [{ seq: 6 }, { hash: 'cd'.repeat(32) }, { signedAt: '2026-12-02T00:00:01.000Z' }]) {
      expect(checkpointSignatureValid({ ...checkpoint, ...changed }, toPublicKey(pem))).toBe(false);
    }
    expect(checkpointSignatureValid(checkpoint, toPublicKey(generateKeyPairSync('ed25519').publicKey))).toBe(false);
  });
});
