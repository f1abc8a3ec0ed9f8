// Time to first token (issue 12, item 2): from sending a message through the platform until its
// first DELTA reaches a WebSocket subscriber that was registered before the send, for 1 and for 100
// conversations at once; the baseline is the same fake provider (`fake-slow-20`: its first text
// chunk 20 ms after the request) called directly, interleaved round by round in the same run. On the
// embedded default, and on PostgreSQL + Redis when DATABASE_URL is set (a fresh database; REDIS_URL
// when set). BENCH_PROFILE=<dir> starts the platform with --cpu-prof, writing its profile there.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { npmStartEnv, profileArgs, spawnUntil, startFakeProvider, type Spawned } from './processes.ts';
import { withTempDatabase } from './temp-database.ts';
import { gql } from './gql.ts';
import { percentile } from './measure.ts';

const MODEL = 'fake-slow-20';
const CONTENT = 'one two three four';

/** Time until the provider's first content chunk arrives, talking to it directly. */
async function directFirstDelta(providerUrl: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${providerUrl}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: CONTENT }] }),
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let first = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (first || !line.startsWith('data: {')) continue;
      // The first chunk with text, as the platform's first DELTA is (the role-only chunk does not count).
      const content = (JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content;
      if (content) first = performance.now() - started;
    }
  }
  return first;
}

async function login(url: string, email: string): Promise<string> {
  await gql(url, 'mutation($e: String!) { register(email: $e, password: "bench-password", displayName: "Bench") { id } }', { e: email });
  return (await gql<{ login: { token: string } }>(url, 'mutation($e: String!) { login(email: $e, password: "bench-password") { token } }', { e: email })).login.token;
}

/**
 * One round: every conversation subscribes, then (once all subscriptions had time to be registered)
 * all messages go out at once. A sample is send → the first DELTA; a first DELTA that does not start
 * at offset 0 means the subscription missed the start, and fails the run rather than flatter it.
 */
async function platformRound(url: string, token: string, conversations: string[]): Promise<number[]> {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
  try {
    const go: Array<() => void> = [];
    const samples = Promise.all(conversations.map((id) => new Promise<number>((resolve, reject) => {
      let started = 0;
      let first = 0;
      const unsubscribe = client.subscribe<{ conversationEvents: { kind: string; offset: number | null } }>(
        { query: 'subscription($id: ID!) { conversationEvents(conversationId: $id) { kind offset } }', variables: { id } },
        {
          next: ({ data }) => {
            const event = data?.conversationEvents;
            if (event?.kind === 'DELTA' && !first) {
              if (!started) return reject(new Error('a DELTA arrived before the message was sent'));
              if (event.offset !== 0) return reject(new Error(`the first DELTA seen starts at offset ${event.offset}: the subscription missed the start`));
              first = performance.now() - started;
            }
            if (event?.kind.startsWith('REPLY_') && event.kind !== 'REPLY_STARTED') {
              unsubscribe();
              if (!first) reject(new Error(`reply ended (${event.kind}) without a DELTA`));
              else resolve(first);
            }
          },
          error: reject,
          complete: () => {},
        },
      );
      go.push(() => {
        started = performance.now();
        gql(url, 'mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id } }', { id, c: CONTENT }, token).catch(reject);
      });
    })));
    // Give the subscriptions time to be registered before the messages go out.
    await new Promise((resolve) => setTimeout(resolve, 100 + conversations.length * 3));
    for (const send of go) send();
    return await samples;
  } finally {
    await client.dispose();
  }
}

interface Result { concurrency: number; platform: number[]; direct: number[] }

async function measure(url: string, providerUrl: string, concurrency: number, rounds: number): Promise<Result> {
  const token = await login(url, `bench-${Date.now()}-${concurrency}@example.com`);
  const conversations = await Promise.all(Array.from({ length: concurrency }, async () =>
    (await gql<{ startConversation: { id: string } }>(url, `mutation { startConversation(input: { model: "${MODEL}" }) { id } }`, {}, token)).startConversation.id));
  // One warm-up round of each, not counted (first connections, JIT).
  await Promise.all(Array.from({ length: concurrency }, () => directFirstDelta(providerUrl)));
  await platformRound(url, token, conversations);
  const result: Result = { concurrency, platform: [], direct: [] };
  for (let round = 0; round < rounds; round++) {
    result.direct.push(...await Promise.all(Array.from({ length: concurrency }, () => directFirstDelta(providerUrl))));
    result.platform.push(...await platformRound(url, token, conversations));
  }
  return result;
}

function print(title: string, results: Result[], loadBefore: number): void {
  console.log(`\n## ${title} (load average ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end)`);
  for (const { concurrency, platform, direct } of results) {
    for (const p of [50, 99]) {
      const d = percentile(direct, p);
      const v = percentile(platform, p);
      console.log(`${concurrency} concurrent, p${p}: platform ${v.toFixed(1)} ms | direct ${d.toFixed(1)} ms | ${(v / d).toFixed(2)}x (+${(v - d).toFixed(1)} ms) | ${platform.length} samples`);
    }
  }
}

function startPlatformWith(env: Record<string, string> & { DATA_DIR: string }): Promise<Spawned & { value: string | undefined }> {
  const args = [...profileArgs(), new URL('../src/main.ts', import.meta.url).pathname];
  return spawnUntil(args, { ...npmStartEnv(), PORT: '0', LOG_LEVEL: 'info', ...env }, (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      return entry.msg === 'Evident is ready' ? entry.url : undefined;
    } catch {
      return undefined;
    }
  }, env.DATA_DIR);
}

async function run(title: string, providerUrl: string, env: Record<string, string>, sizes: { ttfdRounds: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-ttft-'));
  const loadBefore = loadavg()[0]!;
  const platform = await startPlatformWith({ DATA_DIR: dir, OPENAI_BASE_URL: providerUrl, ...env });
  try {
    const results: Result[] = [];
    for (const concurrency of process.env.BENCH_TTFT_CONCURRENCY?.split(',').map(Number) ?? [1, 100]) {
      results.push(await measure(platform.value!, providerUrl, concurrency, concurrency === 1 ? sizes.ttfdRounds * 20 : sizes.ttfdRounds));
    }
    print(title, results, loadBefore);
  } finally {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFirstToken(sizes: { ttfdRounds: number }): Promise<void> {
  const provider = await startFakeProvider();
  try {
    await run('Time to first token, embedded default: send → first DELTA on a WebSocket subscriber vs the provider called directly',
      provider.value, {}, sizes);
    const databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      console.log('\n## Time to first token, PostgreSQL + Redis: skipped, DATABASE_URL is not set');
      return;
    }
    const redisUrl = process.env.REDIS_URL;
    await withTempDatabase(databaseUrl, 'firsttoken', (url) => run(
      `Time to first token, PostgreSQL${redisUrl ? ' + Redis' : ' (REDIS_URL not set: in-memory pub/sub)'}: send → first DELTA vs the provider called directly`,
      provider.value, { DATABASE_URL: url, MASTER_KEY: randomBytes(32).toString('base64'), ...(redisUrl ? { REDIS_URL: redisUrl } : {}) }, sizes));
  } finally {
    await provider.stop();
  }
}
