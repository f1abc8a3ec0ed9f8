import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, printRows } from './measure.ts';
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

interface Side { pid: number | undefined; request: () => Promise<unknown> }

/**
 * Requests per second (median of the rounds) and the server's CPU time per request (ms) over all of
 * them, for each side; the sides' rounds alternate, so that a change in the machine's load falls on
 * both.
 */
async function interleavedRates<S extends Side[]>(sides: [...S], count: number, concurrency: number): Promise<{ [K in keyof S]: { rate: number; cpuMs: number | null } }> {
  const rates = sides.map((): number[] => []);
  const cpu = sides.map((): number | null => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, side] of sides.entries()) {
      const before = cpuSeconds(side.pid);
      const started = process.hrtime.bigint();
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next++ < count) await side.request();
      }));
      rates[i]!.push(count / (Number(process.hrtime.bigint() - started) / 1e9));
      const after = cpuSeconds(side.pid);
      cpu[i] = before === null || after === null || cpu[i] === null ? null : cpu[i]! + (after - before);
    }
  }
  return sides.map((_, i) => ({ rate: median(rates[i]!), cpuMs: cpu[i] === null ? null : (cpu[i]! * 1000) / (ROUNDS * count) })) as
    { [K in keyof S]: { rate: number; cpuMs: number | null } };
}

export async function benchApi(sizes: { ttfdRounds: number; queries: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-api-'));
  const provider = await startFakeProvider();
  // As deployed (the Docker image sets it): graphql-js then skips its development-time checks, for both.
  const platform = await startPlatform({ DATA_DIR: dir, OPENAI_BASE_URL: provider.value, NODE_ENV: 'production' });
  const hello = await spawnUntil([new URL('./hello-server.ts', import.meta.url).pathname], { ...npmStartEnv(), NODE_ENV: 'production' },
    (line) => (line.startsWith('listening ') ? `http://127.0.0.1:${line.split(' ')[1]}/graphql` : undefined));
  try {
    const url = platform.value!;
    const token = await login(url, `bench-${Date.now()}@example.com`);
    for (let i = 0; i < 20; i++) await gql(url, `mutation { startConversation(input: { title: "c${i}", model: "${MODEL}" }) { id } }`, {}, token);
    const [conversations, bare] = await interleavedRates([
      { pid: platform.child.pid, request: () => gql(url, '{ conversations(first: 20) { edges { node { id title model messageCount } } pageInfo { hasNextPage } } }', {}, token) },
      { pid: hello.child.pid, request: () => gql(hello.value, '{ hello }') },
    ], sizes.queries, 16);
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
