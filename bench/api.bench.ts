import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { medianRate, printRows } from './measure.ts';
import { spawnUntil, startFakeProvider, startPlatform } from './processes.ts';

const MODEL = 'fake-slow-20';

async function gql<T>(url: string, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json() as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data!;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Time until the provider's first content chunk arrives, talking to it directly. */
async function directFirstDelta(providerUrl: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${providerUrl}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'one two three four' }] }),
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

/** Time from sending a message through the platform until its first DELTA reaches a WebSocket subscriber. */
async function platformFirstDeltas(url: string, token: string, concurrency: number, rounds: number): Promise<number[]> {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
  const conversations = await Promise.all(Array.from({ length: concurrency }, async () =>
    (await gql<{ startConversation: { id: string } }>(url, `mutation { startConversation(input: { model: "${MODEL}" }) { id } }`, {}, token)).startConversation.id));
  const samples: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      samples.push(...await Promise.all(conversations.map((id) => new Promise<number>((resolve, reject) => {
        let started = 0;
        let first = 0;
        const unsubscribe = client.subscribe<{ conversationEvents: { kind: string } }>(
          { query: 'subscription($id: ID!) { conversationEvents(conversationId: $id) { kind } }', variables: { id } },
          {
            next: ({ data }) => {
              const kind = data?.conversationEvents.kind;
              if (kind === 'DELTA' && !first) first = performance.now() - started;
              if (kind?.startsWith('REPLY_') && kind !== 'REPLY_STARTED') {
                unsubscribe();
                resolve(first);
              }
            },
            error: reject,
            complete: () => {},
          },
        );
        // Give the subscription a moment to be registered before the message goes out.
        setTimeout(() => {
          started = performance.now();
          gql(url, 'mutation($id: ID!) { sendMessage(conversationId: $id, content: "one two three four") { id } }', { id }, token).catch(reject);
        }, 100);
      }))));
    }
  } finally {
    await client.dispose();
  }
  return samples;
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
    console.log('\n## Time to first delta: platform (send → first DELTA on a WebSocket subscriber) vs the provider called directly');
    for (const concurrency of [1, 100]) {
      const rounds = concurrency === 1 ? sizes.ttfdRounds * 10 : sizes.ttfdRounds;
      const direct: number[] = [];
      for (let r = 0; r < rounds; r++) direct.push(...await Promise.all(Array.from({ length: concurrency }, () => directFirstDelta(provider.value))));
      const viaPlatform = await platformFirstDeltas(url, token, concurrency, rounds);
      for (const p of [50, 99]) {
        const d = percentile(direct, p);
        const v = percentile(viaPlatform, p);
        console.log(`${concurrency} concurrent, p${p}: platform ${v.toFixed(1)} ms | direct ${d.toFixed(1)} ms | ${(v / d).toFixed(2)}x (+${(v - d).toFixed(1)} ms)`);
      }
    }

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
