import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { medianRate, printRows } from './measure.ts';
import { spawnUntil, startFakeProvider, startPlatform } from './processes.ts';
import { gql } from './gql.ts';

const MODEL = 'fake-slow-20';

async function login(url: string, email: string): Promise<string> {
  await gql(url, 'mutation($e: String!) { register(email: $e, password: "bench-password", displayName: "Bench") { id } }', { e: email });
  return (await gql<{ login: { token: string } }>(url, 'mutation($e: String!) { login(email: $e, password: "bench-password") { token } }', { e: email })).login.token;
}

async function loadRate(count: number, concurrency: number, request: () => Promise<unknown>): Promise<number> {
  return medianRate(3, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < count) await request();
    }));
    return count;
  });
}

export async function benchApi(sizes: { ttfdRounds: number; queries: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-api-'));
  const provider = await startFakeProvider();
  const platform = await startPlatform({ DATA_DIR: dir, OPENAI_BASE_URL: provider.value });
  const hello = await spawnUntil([new URL('./hello-server.ts', import.meta.url).pathname], {},
    (line) => (line.startsWith('listening ') ? `http://127.0.0.1:${line.split(' ')[1]}/graphql` : undefined));
  try {
    const url = platform.value!;
    const token = await login(url, `bench-${Date.now()}@example.com`);
    for (let i = 0; i < 20; i++) await gql(url, `mutation { startConversation(input: { title: "c${i}", model: "${MODEL}" }) { id } }`, {}, token);
    const conversations = await loadRate(sizes.queries, 16, () =>
      gql(url, '{ conversations(first: 20) { edges { node { id title model messageCount } } pageInfo { hasNextPage } } }', {}, token));
    const bare = await loadRate(sizes.queries, 16, () => gql(hello.value, '{ hello }'));
    printRows('API throughput (16 concurrent clients)', [
      { benchmark: 'authenticated conversations(first: 20)', rate: conversations, unit: 'req/s', baseline: 'bare yoga hello', baselineRate: bare },
    ]);
  } finally {
    await Promise.all([platform.stop(), provider.stop(), hello.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
