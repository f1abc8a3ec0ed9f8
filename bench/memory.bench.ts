// Idle memory of `npm start` on the embedded default: the server's resident set (VmRSS from /proc,
// so Linux only) once it has started and sat idle for a few seconds, beside a bare graphql-yoga
// server (bench/hello-server.ts) measured the same way in the same run, and the goal of issue 12
// (≤ 250 MB). Both run with the variables npm start sets (glibc's allocator settings); the server
// is also measured without them, to show what they are worth.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { median } from './measure.ts';
import { npmStartEnv } from './processes.ts';

const START = new URL('../scripts/start.mjs', import.meta.url).pathname;
const HELLO = new URL('./hello-server.ts', import.meta.url).pathname;
const GOAL_MB = 250;

function rssMb(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Spawns `entry`, waits for a line matching `ready`, then `idleMs`, and reads the process's RSS. */
async function idleRss(entry: string, ready: RegExp, idleMs: number, dataDir: string, env: Record<string, string>): Promise<number | undefined> {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    cwd: dataDir, env: { PATH: process.env.PATH ?? '', ...env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      void exited.then(() => reject(new Error(`${entry} exited before it was ready`)));
      createInterface({ input: child.stdout! }).on('line', (line) => { if (ready.test(line)) resolve(); });
    });
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    return rssMb(child.pid!);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function benchIdleMemory(sizes: { runs: number }): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('\n## Idle memory: skipped, it reads /proc (Linux only)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-memory-'));
  try {
    const startEnv = npmStartEnv();
    const server: number[] = [];
    const withoutEnv: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < Math.max(1, Math.min(sizes.runs, 3)); i++) {
      const a = await idleRss(START, /^Evident is listening on /, 5_000, dir, startEnv);
      const b = await idleRss(HELLO, /^listening \d+$/, 5_000, dir, startEnv);
      const c = await idleRss(START, /^Evident is listening on /, 5_000, dir, {});
      if (a !== undefined) server.push(a);
      if (b !== undefined) bare.push(b);
      if (c !== undefined) withoutEnv.push(c);
    }
    const ours = median(server);
    const baseline = median(bare);
    const settings = Object.entries(startEnv).map(([name, value]) => `${name}=${value}`).join(' ') || 'none';
    console.log(`\n## Idle memory of the embedded default, 5 s after start (load average ${loadavg()[0]!.toFixed(1)})`);
    console.log(`npm start (bundle), idle RSS  |  ${ours.toFixed(0)} MB  |  ${(ours / baseline).toFixed(2)}x of a bare yoga server (${baseline.toFixed(0)} MB)  |  goal ≤ ${GOAL_MB} MB: ${ours <= GOAL_MB ? 'met' : 'not met'}`);
    console.log(`without npm start's allocator settings (${settings})  |  ${median(withoutEnv).toFixed(0)} MB  |  ${(median(withoutEnv) / ours).toFixed(2)}x of npm start`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
