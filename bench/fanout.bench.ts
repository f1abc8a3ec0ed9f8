// Live fan-out (issue 12, item 4): N server-sent-event subscribers on one conversation
// (conversationEvents) and N on the audit feed (auditFeed, an admin's), all on one platform
// process (embedded default). For each command, the time from sending it until each subscriber has
// its event: p50 and p99 over every subscriber and round, beside the same with one subscriber in the
// same run (the baseline), after two unmeasured warm-up rounds. Also the server's resident memory per
// idle subscription. The subscribers share one client process, whose own work is in the figures too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider, startPlatform } from './processes.ts';
import { gql } from './gql.ts';
import { percentile } from './measure.ts';

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/**
 * One SSE subscription over node:http (lighter than fetch and web streams: a thousand of them share
 * this process, and its own work is in the figures); `matches` picks the event a round waits for;
 * `connected` resolves once the stream is open.
 */
class Subscriber {
  private waiting: Array<{ matches: (data: unknown) => boolean; resolve: (at: number) => void }> = [];
  private readonly controller = new AbortController();
  readonly connected: Promise<void>;

  constructor(url: string, token: string, query: string, variables: Record<string, unknown>) {
    this.connected = this.run(url, token, query, variables);
  }

  private run(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(url, {
        method: 'POST', signal: this.controller.signal, agent: false,
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`subscription refused (${response.statusCode})`));
          return;
        }
        resolve();
        let buffered: Buffer = Buffer.alloc(0);
        response.on('data', (chunk: Buffer) => {
          buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const frame = buffered.subarray(0, end);
            buffered = buffered.subarray(end + 2);
            this.frame(frame);
          }
        });
        response.on('error', () => {}); // aborted at the end
      });
      request.on('error', (error) => (this.controller.signal.aborted ? undefined : reject(error)));
      request.end(JSON.stringify({ query, variables }));
    });
  }

  private frame(frame: Buffer): void {
    if (this.waiting.length === 0) return;
    const at = frame.indexOf('data:');
    if (at < 0) return;
    const data = frame.subarray(at + 5).toString('utf8');
    if (!data.trim()) return;
    const parsed = JSON.parse(data) as { data?: unknown };
    const arrived = performance.now();
    this.waiting = this.waiting.filter((waiting) => {
      if (!waiting.matches(parsed.data)) return true;
      waiting.resolve(arrived);
      return false;
    });
  }

  /** Resolves with the time the first event `matches` accepts arrives (waits may overlap). */
  next(matches: (data: unknown) => boolean): Promise<number> {
    return new Promise((resolve) => { this.waiting.push({ matches, resolve }); });
  }

  close(): void {
    this.controller.abort();
  }
}

const WARMUP_ROUNDS = 2;

interface Feed {
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** Runs the command of round `round`; resolves when it was sent. */
  act(round: number): Promise<void>;
  matches(round: number): (data: unknown) => boolean;
  /**
   * What every subscriber gets last from a round's command (a conversation's reply ending), when
   * that is not the measured event: the next round starts once all have it, so that no round is
   * measured while the one before is still being delivered.
   */
  done?: (data: unknown) => boolean;
}

async function measure(url: string, token: string, feed: Feed, subscribers: number, rounds: number, pid: number) {
  const before = rssMb(pid);
  const subs = Array.from({ length: subscribers }, () => new Subscriber(url, token, feed.query, feed.variables));
  await Promise.all(subs.map((s) => s.connected));
  // Let every subscription be registered on the server before the first command.
  await new Promise((resolve) => setTimeout(resolve, 1000 + subscribers));
  const idle = rssMb(pid);
  const latencies: number[] = [];
  try {
    // The first rounds of a fresh set of subscriptions run code the JIT has not compiled yet: not measured.
    for (let round = -WARMUP_ROUNDS; round < rounds; round++) {
      const arrivals = subs.map((s) => s.next(feed.matches(round)));
      const done = feed.done ? subs.map((s) => s.next(feed.done!)) : [];
      const sent = performance.now();
      await feed.act(round);
      const arrived = await Promise.all(arrivals);
      if (round >= 0) for (const at of arrived) latencies.push(at - sent);
      await Promise.all(done);
    }
  } finally {
    for (const s of subs) s.close();
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSubscriptionKb: ((idle - before) * 1024) / subscribers };
}

export async function benchFanout(sizes: { fanout: number; fanoutRounds: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-fanout-'));
  const provider = await startFakeProvider();
  const platform = await startPlatform({ DATA_DIR: dir, OPENAI_BASE_URL: provider.value });
  try {
    const url = platform.value!;
    const email = `fanout-${Date.now()}@example.com`;
    await gql(url, 'mutation($e: String!) { register(email: $e, password: "bench-password", displayName: "Bench") { id } }', { e: email });
    const token = (await gql<{ login: { token: string } }>(url, 'mutation($e: String!) { login(email: $e, password: "bench-password") { token } }', { e: email })).login.token;
    const conversationId = (await gql<{ startConversation: { id: string } }>(url, 'mutation { startConversation(input: { model: "fake-echo" }) { id } }', {}, token)).startConversation.id;
    const conversation: Feed = {
      name: 'conversationEvents (one conversation)',
      query: 'subscription($id: ID!) { conversationEvents(conversationId: $id) { kind message { content } } }',
      variables: { id: conversationId },
      act: async (round) => { await gql(url, 'mutation($id: ID!, $c: String!) { sendMessage(conversationId: $id, content: $c) { id } }', { id: conversationId, c: `fan-out ${round}` }, token); },
      matches: (round) => (data) => {
        const event = (data as { conversationEvents?: { kind: string; message: { content: string } | null } }).conversationEvents;
        return event?.kind === 'MESSAGE_ADDED' && event.message?.content === `fan-out ${round}`;
      },
      // A conversation takes its next message once the reply ended, however it ended.
      done: (data) => ['REPLY_COMPLETED', 'REPLY_FAILED', 'REPLY_CANCELLED', 'REPLY_INTERRUPTED']
        .includes((data as { conversationEvents?: { kind: string } }).conversationEvents?.kind ?? ''),
    };
    const audit: Feed = {
      name: 'auditFeed (an admin\'s, every event)',
      query: 'subscription { auditFeed(filter: { types: ["ConversationRenamed"] }) { type stream } }',
      variables: {},
      act: async (round) => { await gql(url, 'mutation($id: ID!, $t: String!) { renameConversation(id: $id, title: $t) { id } }', { id: conversationId, t: `round ${round}` }, token); },
      matches: () => (data) => (data as { auditFeed?: { type: string } }).auditFeed?.type === 'ConversationRenamed',
    };
    const pid = platform.child.pid!;
    console.log(`\n## Live fan-out over SSE, ${sizes.fanout} subscribers, command → every subscriber (load average ${loadavg()[0]!.toFixed(1)})`);
    for (const feed of [conversation, audit]) {
      const one = await measure(url, token, feed, 1, sizes.fanoutRounds * 3, pid);
      const many = await measure(url, token, feed, sizes.fanout, sizes.fanoutRounds, pid);
      console.log(`${feed.name}  |  p50 ${many.p50.toFixed(1)} ms, p99 ${many.p99.toFixed(1)} ms  |  ${(many.p99 / one.p99).toFixed(2)}x of one subscriber's p99 (${one.p99.toFixed(1)} ms)  |  goal p99 ≤ 50 ms: ${many.p99 <= 50 ? 'met' : 'not met'}  |  ${many.perSubscriptionKb.toFixed(0)} KB server memory per idle subscription`);
    }
  } finally {
    await Promise.all([platform.stop(), provider.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
