// Start-up of `node scripts/start.mjs` (what `npm start` runs: the server bundle) on the embedded
// default: from spawn to the "Evident is listening on" line, cold (an empty data directory) and warm
// (the same directory again); beside it, as the baseline, a warm start of the sources (`node src/main.ts`).
// Wall time depends on how busy the machine is, so the server's own CPU time until that line (user +
// system, from /proc on Linux) is printed beside it, and the load average with them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { median } from './measure.ts';
import { npmStartEnv } from './processes.ts';

const START = new URL('../scripts/start.mjs', import.meta.url).pathname;
const SOURCES = new URL('../src/main.ts', import.meta.url).pathname;
const READY = /^Evident is listening on /;
// Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat, is 100 on every mainstream build.
const TICKS_PER_SECOND = 100;

function cpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
  } catch {
    return undefined;
  }
}

interface Sample { wallMs: number; cpuMs: number | undefined }

/** One start: spawn, wait for the address line, stop with SIGTERM and wait for the exit. */
async function startOnce(dataDir: string, entry = START): Promise<Sample> {
  const started = performance.now();
  // Nothing inherited but PATH, and the data directory as working directory, so that neither a
  // DATABASE_URL nor a .env file moves the server off the embedded default.
  const child = spawn(process.execPath, [entry], {
    cwd: dataDir, env: { PATH: process.env.PATH ?? '', ...npmStartEnv(), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    return await new Promise<Sample>((resolve, reject) => {
      void exited.then((code) => reject(new Error(`the server exited (${code}) before it was ready`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (READY.test(line)) resolve({ wallMs: performance.now() - started, cpuMs: cpuMs(child.pid!) });
      });
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function benchStartup(sizes: { runs: number }): Promise<void> {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-bench-start-'));
    dirs.push(dir);
    return dir;
  };
  try {
    const load = loadavg()[0]!.toFixed(1);
    const cold: Sample[] = [];
    const warm: Sample[] = [];
    const sources: Sample[] = [];
    // Makes the bundle if it is stale, so that no run below pays for it.
    await startOnce(fresh());
    for (let i = 0; i < sizes.runs; i++) cold.push(await startOnce(fresh()));
    const dir = fresh();
    await startOnce(dir);
    // Interleaved, so that a change in the machine's load hits both alike.
    for (let i = 0; i < sizes.runs; i++) {
      warm.push(await startOnce(dir));
      sources.push(await startOnce(dir, SOURCES));
    }
    console.log(`\n## Start-up of the embedded default, spawn → address line (load average ${load} at the start, ${loadavg()[0]!.toFixed(1)} at the end)`);
    const baseline = median(sources.map((s) => s.wallMs));
    for (const [name, samples] of [['cold (empty data directory)', cold], ['warm (same data directory)', warm], ['warm, sources (baseline)', sources]] as const) {
      const cpu = samples.every((s) => s.cpuMs !== undefined) ? `${(median(samples.map((s) => s.cpuMs!)) / 1000).toFixed(2)} s CPU` : 'CPU not measured';
      const wall = median(samples.map((s) => s.wallMs));
      console.log(`${name.padEnd(28)}  |  ${(wall / 1000).toFixed(2)} s wall  |  ${cpu}  |  ${(wall / baseline).toFixed(2)}x of the sources' warm start`);
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
