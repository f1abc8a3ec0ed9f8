import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { medianRate, printRows } from './measure.ts';
import { npmStartEnv, spawnUntil, startFakeProvider, startPlatform } from './processes.ts';
import { gql } from './gql.ts';

const MODEL = 'fake-slow-20';

async function login(url: string, email: string): Promise<string> {
  await gql(url, 'mutation($e: String!) { register(email: $e, password: "bench-password", displayName: "Bench") { id } }', { e: email });
  return (await gql<{ login: { token: string } }>(url, 'mutation($e: String!) { login(email: $e, password: "bench-password") { token } }', { e: email })).login.token;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); null elsewhere. */
function cpuSeconds(pid: number | undefined): number | null {
  if (process.platform !== 'linux' || pid === undefined) return null;
  // utime and stime are fields 14 and 15; counted after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks: USER_HZ is 100 on Linux
}

const ROUNDS = 3;

/** Requests per second (median of the rounds) and the server's CPU time per request (ms) over all of them. */
async function loadRate(pid: number | undefined, count: number, concurrency: number, request: () => Promise<unknown>): Promise<{ rate: number; cpuMs: number | null }> {
  const before = cpuSeconds(pid);
  const rate = await medianRate(ROUNDS, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < count) await request();
    }));
    return count;
  });
  const after = cpuSeconds(pid);
  return { rate, cpuMs: before === null || after === null ? null : ((after - before) * 1000) / (ROUNDS * count) };
}

export async function benchApi(sizes: { ttfdRounds: number; queries: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-api-'));
  const provider = await startFakeProvider();
  const platform = await startPlatform({ DATA_DIR: dir, OPENAI_BASE_URL: provider.value });
  const hello = await spawnUntil([new URL('./hello-server.ts', import.meta.url).pathname], npmStartEnv(),
    (line) => (line.startsWith('listening ') ? `http://127.0.0.1:${line.split(' ')[1]}/graphql` : undefined));
  try {
    const url = platform.value!;
    const token = await login(url, `bench-${Date.now()}@example.com`);
    for (let i = 0; i < 20; i++) await gql(url, `mutation { startConversation(input: { title: "c${i}", model: "${MODEL}" }) { id } }`, {}, token);
    const conversations = await loadRate(platform.child.pid, sizes.queries, 16, () =>
      gql(url, '{ conversations(first: 20) { edges { node { id title model messageCount } } pageInfo { hasNextPage } } }', {}, token));
    const bare = await loadRate(hello.child.pid, sizes.queries, 16, () => gql(hello.value, '{ hello }'));
    printRows('API throughput (16 concurrent clients)', [
      { benchmark: 'authenticated conversations(first: 20)', rate: conversations.rate, unit: 'req/s', baseline: 'bare yoga hello', baselineRate: bare.rate },
    ]);
    if (conversations.cpuMs !== null && bare.cpuMs !== null) {
      // The ratio that counts for the goal is the rate's; this one says how much of a gap is the server's own work.
      console.log(`server CPU per request: ${conversations.cpuMs.toFixed(2)} ms  |  ${(conversations.cpuMs / bare.cpuMs).toFixed(2)}x of bare yoga hello (${bare.cpuMs.toFixed(2)} ms)`);
    }
  } finally {
    await Promise.all([platform.stop(), provider.stop(), hello.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
