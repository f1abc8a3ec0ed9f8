// `npm run loadtest` (bench/loadtest.ts) against a real server on loopback (in-process app, fake provider):
// it signs up, reads, sends and subscribes, and reports numbers; bad arguments exit 2 with one line.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/graphql/server.ts';
import { startTestApp, type TestApp } from '../graphql/support.ts';

const SCRIPT = fileURLToPath(new URL('../../bench/loadtest.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run loadtest', () => {
  let t: TestApp;
  let server: RunningServer;

  beforeAll(async () => {
    t = await startTestApp();
    server = await startServer(t.app, { port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('reads, sends and subscribes against a deployment, and reports throughput and latency beside /healthz', async () => {
    const { code, stdout, stderr } = await run(['--url', server.url, '--duration', '2', '--connections', '2', '--subscribers', '3',
      '--sends', '2', '--conversations', '2', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      rows: Array<{ name: string; requestsPerSecond: number; errors: number; non2xx: number; ratioToHealthz: number | null; latencyMs: { p50: number } }>;
      sends: { count: number; errors: number };
      subscriptions: { subscribers: number; expectedDeliveries: number; deliveries: number; failures: number };
    };
    expect(report.rows.map((r) => r.name)).toEqual(['GET /healthz (baseline)', 'mixed reads (list, thread, me)']);
    for (const row of report.rows) {
      expect(row.requestsPerSecond).toBeGreaterThan(0);
      expect(row.errors).toBe(0);
      expect(row.non2xx).toBe(0);
      expect(row.ratioToHealthz).toBeGreaterThan(0);
    }
    expect(report.sends.count).toBeGreaterThan(0);
    expect(report.sends.errors).toBe(0);
    expect(report.subscriptions).toMatchObject({ subscribers: 3, failures: 0 });
    expect(report.subscriptions.deliveries).toBeGreaterThan(0);
    expect(report.subscriptions.deliveries).toBeLessThanOrEqual(report.subscriptions.expectedDeliveries);
    // What was sent is in the log, from the account the load test made.
    const sent = (await t.app.store.readAll({ maxCount: 10_000 })).filter((e) => e.type === 'UserMessageSent');
    expect(sent.length).toBe(report.sends.count);
  });

  it('refuses bad arguments with exit code 2 and one line', async () => {
    const zero = await run(['--duration', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr.trim()).toMatch(/--duration must be a whole number above 0/);
    const url = await run(['--url', 'ftp://x']);
    expect(url.code).toBe(2);
    expect(url.stderr.trim()).toBe('loadtest: --url must be an http(s) URL');
    expect((await run(['--email', 'a@b.c'])).code).toBe(2);
  });
});
