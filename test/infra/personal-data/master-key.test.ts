import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadMasterKey, MASTER_KEY_FILE } from '../../../src/infra/personal-data/master-key.ts';

describe('loadMasterKey', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'evident-master-key-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('generates a 32-byte key into a 0600 file on first start and reuses it afterwards', () => {
    const dataDir = join(root, 'nested', 'data'); // does not exist yet
    const first = loadMasterKey({ dataDir });
    expect(first.length).toBe(32);
    const path = join(dataDir, MASTER_KEY_FILE);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64').equals(first)).toBe(true);
    expect(readdirSync(dataDir)).toEqual([MASTER_KEY_FILE]); // no temp file left behind

    const second = loadMasterKey({ dataDir });
    expect(second.equals(first)).toBe(true);
  });

  it('uses a configured key, in preference to the data directory', () => {
    const configured = randomBytes(32);
    const key = loadMasterKey({ masterKey: configured.toString('base64'), dataDir: root });
    expect(key.equals(configured)).toBe(true);
    expect(readdirSync(root)).toEqual([]); // nothing generated
    const urlSafe = loadMasterKey({ masterKey: ` ${configured.toString('base64url')}\n`, dataDir: root });
    expect(urlSafe.equals(configured)).toBe(true);
  });

  it.each([
    ['too short', randomBytes(16).toString('base64'), /16 bytes; expected exactly 32/],
    ['too long', randomBytes(33).toString('base64'), /33 bytes; expected exactly 32/],
    ['not base64', 'this is not a key!', /not valid base64/],
    ['empty', '', /empty/],
  ])('rejects a configured key that is %s with a clear one-line error', (_name, masterKey, message) => {
    let error: unknown;
    try {
      loadMasterKey({ masterKey, dataDir: root });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    const text = (error as Error).message;
    expect(text).toMatch(message);
    expect(text).toMatch(/^Invalid master key \(configured masterKey\)/);
    expect(text).not.toContain('\n');
    if (masterKey.length > 0) expect(text).not.toContain(masterKey);
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses a malformed key file instead of replacing it', () => {
    const path = join(root, MASTER_KEY_FILE);
    writeFileSync(path, 'c2hvcnQ=\n');
    expect(() => loadMasterKey({ dataDir: root })).toThrow(/master\.key\): decodes to 5 bytes; expected exactly 32/);
    expect(readFileSync(path, 'utf8')).toBe('c2hvcnQ=\n');
  });
});
