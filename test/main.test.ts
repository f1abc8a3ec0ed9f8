import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = new URL('../src/main.ts', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.includes('Evident is ready')) resolve();
    });
    void exited.then(() => reject(new Error(`exited before ready: ${stderr}`)));
  });
  ready.catch(() => { /* awaited only by the tests that expect a start */ });
  return { child, lines, exited, ready, stderr: () => stderr };
}

describe('npm start (src/main.ts)', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`starts on the embedded default, migrates, and stops cleanly on ${signal}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'evident-main-'));
      dirs.push(dir);
      const proc = run({ DATA_DIR: dir });
      await proc.ready;
      proc.child.kill(signal);
      expect(await proc.exited).toBe(0);
      const messages = proc.lines.map((line) => JSON.parse(line).msg);
      expect(messages).toContain('read-model migrations applied');
      expect(messages).toContain('stopped');
    });
  }

  it('stops with one clear line on a bad configuration value', async () => {
    const proc = run({ LOG_LEVEL: 'loud' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: LOG_LEVEL/)]);
  });

  it('a second process on the same data directory stops with a clear error, and leaves the first running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-main-'));
    dirs.push(dir);
    const first = run({ DATA_DIR: dir });
    await first.ready;
    const second = run({ DATA_DIR: dir });
    expect(await second.exited).toBe(1);
    expect(second.lines.join('\n')).toMatch(/start failed: Another Evident process is using/);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });
});
