// The container files, checked without a Docker engine: every compose profile resolves with Debian's
// docker-compose, and the Dockerfile builds what `npm start` runs (every file it copies exists, the
// build runs package.json's postinstall steps, the image runs node as PID 1 as a non-root user).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startScriptEnv } from '../scripts/start-script-env.mjs';
import { skipReason } from './support/requirements.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const available = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
const skip = skipReason('docker-compose.yml check', available ? undefined : 'docker-compose is not installed');

function resolved(profile: string, env: Record<string, string> = {}): string {
  return execFileSync('docker-compose', ['--profile', profile, 'config'], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
}

describe.skipIf(skip !== undefined)('docker-compose.yml', () => {
  it('every profile resolves; each starts what it says', () => {
    for (const profile of ['embedded', 'services', 'scale-out']) expect(() => resolved(profile)).not.toThrow();
    const embedded = resolved('embedded');
    expect(embedded).toMatch(/evident-data:\/data/);
    const scaleOut = resolved('scale-out', { MASTER_KEY: 'k', CHAIN_SIGNING_KEY: 'c', WEAVIATE_API_KEY: 'w', POSTGRES_PASSWORD: 'p' });
    expect(scaleOut).toMatch(/image: pgvector\/pgvector/);
    expect(scaleOut).toMatch(/image: redis/);
    expect(scaleOut).toMatch(/kurrentdb/);
    expect(scaleOut).toMatch(/weaviate/);
    expect(scaleOut).toMatch(/DATABASE_URL: postgres:\/\/evident:p@postgres:5432\/evident/);
    expect(scaleOut).toMatch(/MASTER_KEY: k/);
    expect(scaleOut).toMatch(/EVENT_STORE: kurrentdb/);
    expect(scaleOut).toMatch(/KURRENTDB_URL: kurrentdb:\/\/kurrentdb:2113/);
  });

  it('the scale-out instances share the secrets given, and get none made up when they are missing', () => {
    const bare = resolved('scale-out');
    // Empty, so the app refuses to start with one line (EVENT_STORE=postgres needs MASTER_KEY), never a default key.
    expect(bare).toMatch(/MASTER_KEY: ''/);
    expect(bare).toMatch(/CHAIN_SIGNING_KEY: ''/);
  });
});

/** The Dockerfile's instructions, continuation lines joined. */
function instructions(): Array<{ op: string; args: string }> {
  return readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n')
    .map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const steps = instructions();

  it('copies only files that exist in the checkout and that .dockerignore lets through', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const copies = steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(3);
    for (const copy of copies) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
        expect(ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)), `${source} is not in .dockerignore`).toBe(false);
      }
    }
  });

  it('runs package.json\'s postinstall steps at build time, so the image starts from the bundle', () => {
    const postinstall = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.postinstall as string;
    const commands = postinstall.split(';').map((c) => c.trim()).filter((c) => c.startsWith('node '));
    expect(commands.length).toBeGreaterThan(0);
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args).join('\n');
    for (const command of commands) expect(runs).toContain(command);
    // Every source the bundle is made from is in the image (the launcher finds the bundle fresh).
    const copiedDirs = new Set(steps.filter((s) => s.op === 'COPY').flatMap((s) => s.args.split(/\s+/).slice(0, -1)).map((p) => p.replace(/^\/app\//, '')));
    for (const dir of ['src', 'scripts', 'migrations', 'bin', 'package.json', 'package-lock.json']) expect(copiedDirs.has(dir), dir).toBe(true);
  });

  it('runs Node 26 as a non-root user with node as PID 1, a health check and the data directory as a volume', () => {
    const from = steps.filter((s) => s.op === 'FROM' || s.op === 'ARG').map((s) => s.args).join('\n');
    expect(from).toMatch(/node:26/);
    const users = steps.filter((s) => s.op === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    const cmd = steps.filter((s) => s.op === 'CMD').at(-1)!;
    expect(JSON.parse(cmd.args)).toEqual(['node', 'scripts/start.mjs']); // exec form: no shell in between
    expect(steps.some((s) => s.op === 'ENTRYPOINT')).toBe(false);
    const health = steps.find((s) => s.op === 'HEALTHCHECK')!;
    expect(health.args).toMatch(/scripts\/healthcheck\.mjs/);
    expect(existsSync(join(ROOT, 'scripts/healthcheck.mjs'))).toBe(true);
    expect(steps.some((s) => s.op === 'VOLUME' && s.args.includes('/data'))).toBe(true);
  });
});

describe('the allocator settings of npm start', () => {
  it('are set by the image too, with the same values (its node runs without npm)', () => {
    const defaults = startScriptEnv();
    expect(Object.keys(defaults)).toContain('MALLOC_MMAP_THRESHOLD_');
    const env = Object.fromEntries(instructions().filter((s) => s.op === 'ENV').flatMap((s) => s.args.split(/\s+/)).map((pair) => pair.split('=') as [string, string]));
    for (const [name, value] of Object.entries(defaults)) expect(env[name], name).toBe(value);
  });
});

describe('scripts/healthcheck.mjs (the image\'s HEALTHCHECK)', () => {
  async function probe(status: number | null): Promise<number | null> {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' && status !== null ? status : 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    if (status === null) await new Promise((resolve) => server.close(resolve)); // nothing listening
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(ROOT, 'scripts/healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (status !== null) await new Promise((resolve) => server.close(resolve));
    return code;
  }

  it('exits 0 only when /healthz answers 200', async () => {
    expect(await probe(200)).toBe(0);
    expect(await probe(503)).toBe(1);
    expect(await probe(null)).toBe(1);
  });
});
