import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startScriptEnv } from '../scripts/start-script-env.mjs';

const children = new Set<ChildProcess>();
// Never leave a server behind when the benchmark itself ends or is interrupted.
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

/** The variables `npm start` sets before it runs node (its allocator settings), for servers spawned as it runs them. */
export const npmStartEnv = (): Record<string, string> => startScriptEnv();

export interface Spawned {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a Node process and resolves with the value `ready` extracts from its first matching stdout line.
 * Nothing is inherited but PATH: a DATABASE_URL meant for the PostgreSQL rows must not move the
 * platform off the embedded default (where it would need a MASTER_KEY too).
 */
export async function spawnUntil<T>(
  args: string[], env: Record<string, string>, ready: (line: string) => T | undefined, cwd?: string, timeoutMs = 120_000,
): Promise<Spawned & { value: T }> {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const value = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not become ready within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const found = ready(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  return {
    child,
    value,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

export const startFakeProvider = () => spawnUntil(
  [new URL('../test/support/fake-openai-server.ts', import.meta.url).pathname, '--port', '0'], {},
  (line) => (line.startsWith('listening ') ? `http://127.0.0.1:${line.split(' ')[1]}/v1` : undefined),
);

/** `BENCH_PROFILE=<dir>`: the platform runs with --cpu-prof, writing its profile there when it stops. */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * The platform on the embedded default in `env.DATA_DIR`, which is also its working directory (so no
 * .env applies), with the allocator settings npm start gives it.
 */
export const startPlatform = (env: Record<string, string> & { DATA_DIR: string }) => spawnUntil(
  [...profileArgs(), new URL('../src/main.ts', import.meta.url).pathname], { ...npmStartEnv(), PORT: '0', LOG_LEVEL: 'info', ...env },
  (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      return entry.msg === 'Evident is ready' ? entry.url : undefined;
    } catch {
      return undefined;
    }
  },
  env.DATA_DIR,
);
