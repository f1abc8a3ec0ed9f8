import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'src/main.ts');
const START_TIMEOUT_MS = 120_000;
// A cold start on a busy 2-core machine can take tens of seconds; several tests here start twice.
vi.setConfig({ testTimeout: 3 * START_TIMEOUT_MS });

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'evident-main-'));
  dirs.push(dir);
  return dir;
}

const ADDRESS_LINE = /^Evident is listening on (http:\/\/\S+)$/;

/** Starts `command args` (the server, directly or through npm) and follows its stdout. */
function run(env: Record<string, string>, command = process.execPath, args = [MAIN], cwd?: string) {
  const child = spawn(command, args, {
    cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const address = ADDRESS_LINE.exec(line);
      if (address) resolve(address[1]!);
    });
    void exited.then(() => reject(new Error(`exited before ready: ${stderr}\n${lines.join('\n')}`)));
  });
  ready.catch(() => { /* awaited only by the tests that expect a start */ });
  /** The JSON log lines (npm's banner and the address line are not JSON). */
  const logs = () => lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as { msg: string; [key: string]: unknown }];
    } catch {
      return [];
    }
  });
  return { child, lines, logs, exited, ready, stderr: () => stderr };
}

/** Every process below `pid`, from ps. */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n')
    .map((row) => row.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of rows) {
      if (ppid === parent) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return await response.json() as { data?: T; errors?: Array<{ message: string; extensions: { code: string } }> };
}

describe('npm start (src/main.ts)', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`starts on the embedded default, migrates, prints its address, and stops cleanly on ${signal}`, async () => {
      const proc = run({ DATA_DIR: dataDir() });
      const url = await proc.ready;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
      proc.child.kill(signal);
      expect(await proc.exited).toBe(0);
      const messages = proc.logs().map((entry) => entry.msg);
      expect(messages).toContain('read-model migrations applied');
      expect(messages).toContain('stopped');
      expect(proc.logs().find((entry) => entry.msg === 'Evident is ready')?.url).toBe(url);
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`run as users do (npm start), ${signal} to the npm process stops the server: "stopped" logged, port freed, no process left`, async () => {
      const proc = run({ DATA_DIR: dataDir(), npm_config_update_notifier: 'false' }, 'npm', ['start'], ROOT);
      const url = await proc.ready;
      const below = descendants(proc.child.pid!);
      expect(below.length).toBeGreaterThan(0);
      proc.child.kill(signal);
      await proc.exited;
      expect(proc.logs().map((entry) => entry.msg)).toContain('stopped');
      expect(await refused(url)).toBe(true);
      expect(below.filter(alive)).toEqual([]);
    });
  }

  it('prints the address as one plain line with LOG_LEVEL=warn too, and nothing else', async () => {
    const proc = run({ DATA_DIR: dataDir(), LOG_LEVEL: 'warn' });
    await proc.ready;
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.lines).toEqual([expect.stringMatching(ADDRESS_LINE)]);
  });

  it('a busy port fails at once, before any store is opened or migrated', async () => {
    const busy = createServer();
    const port = await listen(busy);
    try {
      const dir = dataDir();
      const proc = run({ DATA_DIR: dir, PORT: String(port) });
      expect(await proc.exited).toBe(1);
      const messages = proc.logs().map((entry) => entry.msg);
      expect(messages).toEqual([`could not listen on 127.0.0.1:${port}: the port is in use`]);
      expect(existsSync(join(dir, 'read-models'))).toBe(false);
      expect(existsSync(join(dir, 'events.sqlite'))).toBe(false);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('stops with one clear line on a bad configuration value', async () => {
    const proc = run({ LOG_LEVEL: 'loud' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^Invalid configuration: LOG_LEVEL/)]);
  });

  it('a second process on the same data directory stops with a clear error, and leaves the first running', async () => {
    const dir = dataDir();
    const first = run({ DATA_DIR: dir });
    await first.ready;
    const second = run({ DATA_DIR: dir });
    expect(await second.exited).toBe(1);
    expect(second.lines.join('\n')).toMatch(/start failed: Another Evident process is using/);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  it('a provider that does not answer within PROVIDER_CONNECT_TIMEOUT_MS: startConversation fails with PROVIDER_UNAVAILABLE', async () => {
    // Accepts connections and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => { sockets.add(socket); });
    const port = await listen(silent);
    const proc = run({
      DATA_DIR: dataDir(), LOG_LEVEL: 'warn', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, PROVIDER_CONNECT_TIMEOUT_MS: '300',
    });
    try {
      const url = await proc.ready;
      const email = 'ada@example.com';
      const password = 'correct horse battery';
      await gql(url, 'mutation($e: String!, $p: String!) { register(email: $e, password: $p, displayName: "Ada") { id } }', { e: email, p: password });
      const login = await gql<{ login: { token: string } }>(url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
      const started = await gql(url, 'mutation { startConversation(input: { model: "some-model" }) { id } }', {}, login.data!.login.token);
      expect(started.errors).toEqual([expect.objectContaining({
        message: expect.stringContaining('no response within 300 ms'), extensions: { code: 'PROVIDER_UNAVAILABLE' },
      })]);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
