import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../src/infra/data-dir-lock.ts';

describe('data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lets one holder in at a time, and the next one after release', () => {
    const first = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    first.release();
    const second = lockDataDir(dir);
    second.release();
  });

  it('refuses a second process with a clear message, and frees the directory when the holder dies', () => {
    const holder = lockDataDir(dir);
    const script = `import { lockDataDir } from ${JSON.stringify(new URL('../../src/infra/data-dir-lock.ts', import.meta.url).pathname)};
      try { lockDataDir(${JSON.stringify(dir)}); console.log('locked'); } catch (e) { console.log(e.message); }`;
    const run = () => spawnSync(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], { encoding: 'utf8' }).stdout.trim();
    expect(run()).toMatch(/^Another Evident process is using .*; stop it, or give this one its own DATA_DIR$/);
    holder.release();
    expect(run()).toBe('locked'); // that child exited holding the lock: the OS released it
    expect(run()).toBe('locked');
  });
});
