// `npm run loadtest -- --url https://evident.example.com/graphql`: a load test to point at your own
// deployment. Mixed authenticated reads (autocannon), messages sent at a steady rate and live SSE
// subscribers on the conversations they go to; prints throughput and latency percentiles, each read
// figure beside GET /healthz on the same deployment measured in the same run (the baseline).
//
// It registers one account (or uses --token / --email and --password), makes a few conversations and
// sends messages into them: with a real provider configured, every send is a real model call (--sends 0
// turns them off).
import { Command, InvalidArgumentError } from 'commander';
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';

interface Options {
  url: string; duration: number; connections: number; subscribers: number; sends: number; conversations: number;
  model?: string; token?: string; email?: string; password?: string; json: boolean;
}

const positive = (name: string, { zero = false } = {}) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < (zero ? 0 : 1) || !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number${zero ? '' : ' above 0'}`);
  return n;
};

function parseOptions(argv: string[]): Options {
  const program = new Command('loadtest')
    .description('Load-tests an Evident deployment: mixed reads, sends and live subscriptions')
    .option('--url <url>', 'the GraphQL endpoint', 'http://127.0.0.1:4000/graphql')
    .option('--duration <seconds>', 'how long the read load runs', positive('--duration'), 20)
    .option('--connections <n>', 'concurrent HTTP connections for the reads', positive('--connections'), 16)
    .option('--subscribers <n>', 'live SSE subscriptions, spread over the conversations', positive('--subscribers', { zero: true }), 20)
    .option('--sends <per-second>', 'messages sent per second while the reads run (0: none)', positive('--sends', { zero: true }), 1)
    .option('--conversations <n>', 'conversations the sends and subscriptions use', positive('--conversations'), 4)
    .option('--model <name>', 'model of the conversations (default: the server\'s default model)')
    .option('--token <bearer>', 'a session token or API key (chat and read scopes) instead of registering')
    .option('--email <email>', 'log in as this account instead of registering')
    .option('--password <password>', 'with --email')
    .option('--json', 'print the results as one JSON object', false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program.parse(argv, { from: 'user' });
  const options = program.opts<Options>();
  if (!URL.canParse(options.url) || !/^https?:$/.test(new URL(options.url).protocol)) throw new InvalidArgumentError('--url must be an http(s) URL');
  if ((options.email === undefined) !== (options.password === undefined)) throw new InvalidArgumentError('--email and --password go together');
  return options;
}

class GraphQLFailure extends Error {}

async function gql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST', signal: AbortSignal.timeout(30_000),
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json() as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length || !body.data) {
    const error = body.errors?.[0];
    throw new GraphQLFailure(`${error?.extensions?.code ?? response.status}: ${error?.message ?? 'no data'}`);
  }
  return body.data;
}

async function signIn(options: Options): Promise<string> {
  if (options.token) return options.token;
  let email = options.email;
  let password = options.password;
  if (!email || !password) {
    email = `loadtest-${randomBytes(6).toString('hex')}@example.test`;
    password = randomBytes(18).toString('base64url');
    await gql(options.url, 'mutation ($e: String!, $p: String!) { register(email: $e, password: $p, displayName: "Load test") { id } }', { e: email, p: password });
  }
  const { login } = await gql<{ login: { token: string } }>(options.url, 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
  return login.token;
}

interface Percentiles { p50: number; p90: number; p99: number }
interface Row { name: string; requestsPerSecond: number; latencyMs: Percentiles; errors: number; non2xx: number; ratioToHealthz: number | null }

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

async function cannon(name: string, options: Options, duration: number, requests: autocannon.Request[], baseline: number | null): Promise<Row> {
  const result = await autocannon({ url: options.url, connections: options.connections, duration, requests });
  const rate = result.requests.average;
  return {
    name, requestsPerSecond: rate, latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
    errors: result.errors + result.timeouts, non2xx: result.non2xx, ratioToHealthz: baseline ? rate / baseline : null,
  };
}

/** One live subscription over SSE: when each message id was first seen (MESSAGE_ADDED). */
class Subscriber {
  readonly seen = new Map<string, number>();
  private readonly controller = new AbortController();
  readonly ready: Promise<void>;
  failure: string | null = null;

  constructor(url: string, token: string, conversationId: string) {
    this.ready = this.run(url, token, conversationId);
  }

  private async run(url: string, token: string, conversationId: string): Promise<void> {
    const response = await fetch(url, {
      method: 'POST', signal: this.controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription ($id: ID!) { conversationEvents(conversationId: $id) { kind messageId } }', variables: { id: conversationId } }),
    });
    if (!response.ok || !response.body) throw new Error(`subscription refused (HTTP ${response.status})`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('');
            if (!data) continue;
            const event = (JSON.parse(data) as { data?: { conversationEvents?: { kind: string; messageId: string | null } } }).data?.conversationEvents;
            if (event?.kind === 'MESSAGE_ADDED' && event.messageId && !this.seen.has(event.messageId)) this.seen.set(event.messageId, performance.now());
          }
        }
      } catch (error) {
        if (!this.controller.signal.aborted) this.failure = (error as Error).message;
      }
    })();
  }

  close(): void {
    this.controller.abort();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const token = await signIn(options);
  const healthz = new URL('/healthz', options.url).toString();
  const conversations: string[] = [];
  for (let i = 0; i < options.conversations; i++) {
    const { startConversation } = await gql<{ startConversation: { id: string } }>(options.url,
      'mutation ($input: StartConversationInput) { startConversation(input: $input) { id } }',
      { input: { title: `load test ${i + 1}`, ...(options.model ? { model: options.model } : {}) } }, token);
    conversations.push(startConversation.id);
  }

  const rows: Row[] = [];
  const baselineSeconds = Math.max(1, Math.round(options.duration / 3));
  const baseline = await autocannon({ url: healthz, connections: options.connections, duration: baselineSeconds });
  rows.push({
    name: 'GET /healthz (baseline)', requestsPerSecond: baseline.requests.average,
    latencyMs: { p50: baseline.latency.p50, p90: baseline.latency.p90, p99: baseline.latency.p99 },
    errors: baseline.errors + baseline.timeouts, non2xx: baseline.non2xx, ratioToHealthz: 1,
  });

  const subscribers = Array.from({ length: options.subscribers }, (_, i) => ({ conversationId: conversations[i % conversations.length]!, sub: new Subscriber(options.url, token, conversations[i % conversations.length]!) }));
  await Promise.all(subscribers.map((s) => s.sub.ready));

  // Sends at a steady rate while the reads run; each send's delivery to every subscriber of its conversation is timed.
  const sent: Array<{ messageId: string; conversationId: string; at: number; latencyMs: number }> = [];
  const sendErrors: string[] = [];
  let sending = options.sends > 0;
  const sender = (async () => {
    let n = 0;
    while (sending) {
      const conversationId = conversations[n++ % conversations.length]!;
      const at = performance.now();
      try {
        const { sendMessage } = await gql<{ sendMessage: { id: string } }>(options.url,
          'mutation ($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { id } }',
          { id: conversationId, content: `load test message ${n}` }, token);
        sent.push({ messageId: sendMessage.id, conversationId, at, latencyMs: performance.now() - at });
      } catch (error) {
        sendErrors.push((error as Error).message);
      }
      const wait = 1000 / options.sends - (performance.now() - at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();

  const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const path = new URL(options.url).pathname;
  const post = (query: string, variables: Record<string, unknown> = {}): autocannon.Request => ({ method: 'POST', path, headers: auth, body: JSON.stringify({ query, variables }) });
  rows.push(await cannon('mixed reads (list, thread, me)', options, options.duration, [
    post('{ conversations(first: 20) { edges { node { id title updatedAt } } } }'),
    post('query ($id: ID!) { conversation(id: $id) { id messages(first: 20) { edges { node { id role content status } } } } }', { id: conversations[0] }),
    post('{ conversations(first: 20) { edges { node { id title updatedAt } } } }'),
    post('{ me { id email } }'),
  ], baseline.requests.average));
  sending = false;
  await sender;
  // Deliveries still on their way get a few seconds.
  const deadline = performance.now() + 15_000;
  const delivered = () => sent.every((s) => subscribers.filter((x) => x.conversationId === s.conversationId).every((x) => x.sub.seen.has(s.messageId)));
  while (!delivered() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const { sub } of subscribers) sub.close();

  const deliveries = sent.flatMap((s) => subscribers.filter((x) => x.conversationId === s.conversationId)
    .flatMap((x) => (x.sub.seen.has(s.messageId) ? [x.sub.seen.get(s.messageId)! - s.at] : [])));
  const expected = sent.reduce((sum, s) => sum + subscribers.filter((x) => x.conversationId === s.conversationId).length, 0);
  const report = {
    url: options.url, durationSeconds: options.duration, connections: options.connections, rows,
    sends: { count: sent.length, errors: sendErrors.length, firstError: sendErrors[0] ?? null, latencyMs: percentiles(sent.map((s) => s.latencyMs)) },
    subscriptions: {
      subscribers: subscribers.length, expectedDeliveries: expected, deliveries: deliveries.length,
      failures: subscribers.filter((x) => x.sub.failure).length, sendToDeliveryMs: percentiles(deliveries),
    },
  };
  if (options.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : '—');
  console.log(`# Evident load test: ${options.url} (${options.connections} connections, ${options.duration} s)\n`);
  console.log('| load | requests/s | p50 | p90 | p99 | errors | non-2xx | ratio to /healthz |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.name} | ${row.requestsPerSecond.toFixed(0)} | ${ms(row.latencyMs.p50)} | ${ms(row.latencyMs.p90)} | ${ms(row.latencyMs.p99)} | ${row.errors} | ${row.non2xx} | ${row.ratioToHealthz === null ? '—' : `${row.ratioToHealthz.toFixed(2)}x`} |`);
  }
  const { sends, subscriptions } = report;
  console.log(`\nsendMessage: ${sends.count} sent (${sends.errors} failed${sends.firstError ? `, first: ${sends.firstError}` : ''}), `
    + `p50 ${ms(sends.latencyMs.p50)}, p90 ${ms(sends.latencyMs.p90)}, p99 ${ms(sends.latencyMs.p99)}`);
  console.log(`subscriptions: ${subscriptions.subscribers} live over SSE, ${subscriptions.deliveries} of ${subscriptions.expectedDeliveries} deliveries `
    + `(${subscriptions.failures} broken), send → subscriber p50 ${ms(subscriptions.sendToDeliveryMs.p50)}, p90 ${ms(subscriptions.sendToDeliveryMs.p90)}, p99 ${ms(subscriptions.sendToDeliveryMs.p99)}`);
}

main().catch((error: unknown) => {
  if (error instanceof InvalidArgumentError || (error as { code?: string }).code?.startsWith('commander.')) {
    if (error instanceof InvalidArgumentError) console.error(`loadtest: ${error.message}`);
    process.exit(2);
  }
  console.error(`loadtest: ${error instanceof GraphQLFailure ? error.message : (error as Error).message}`);
  process.exit(1);
});
