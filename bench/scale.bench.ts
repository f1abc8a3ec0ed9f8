// Scale sweep (issue 12, item 7) and memory with data (item 6): one embedded data directory (SQLite
// log, keys and master key as the platform keeps them) grown to each size in turn with the real
// domain events (users registered; conversations started; messages sent; replies started and
// completed), appended through the real store (personal fields encrypted). At each size: appends by
// 16 writers on top of that log, reads of `$all`, the conversations projection rebuilt from zero
// into a fresh PGlite through the runner's own rebuild, and the list a user sees,
// `conversations(first: 20)`, through the query module the resolver calls. Each figure is printed
// as a ratio to the same measurement on the smallest log of the same run.
// Memory: the RSS of `node scripts/start.mjs` on a data directory of 10k conversations with 100k
// messages once its projections have caught up, beside an empty data directory in the same run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { pino } from 'pino';
import { conversationDecider, conversationStream, type ConversationState } from '../src/domain/conversation/conversation.ts';
import type { DomainEvent } from '../src/domain/decider.ts';
import { userDecider, userStream } from '../src/domain/user/user.ts';
import type { EventStore } from '../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../src/infra/event-store/sqlite-event-store.ts';
import { uuidv7 } from '../src/infra/ids.ts';
import { loadMasterKey } from '../src/infra/personal-data/master-key.ts';
import { SqliteKeyStore } from '../src/infra/personal-data/sqlite-key-store.ts';
import { migrate } from '../src/infra/read-db/migrations.ts';
import { PgliteReadDb } from '../src/infra/read-db/pglite-read-db.ts';
import { conversationPage } from '../src/projections/conversations-queries.ts';
import { conversationsProjection } from '../src/projections/conversations-projection.ts';
import { ProjectionCheckpoints } from '../src/projections/processor/checkpoints.ts';
import { ProjectionRunner } from '../src/projections/runner.ts';
import type { ReadDb } from '../src/infra/read-db/port.ts';
import { createCodec, domainStore, MIGRATIONS_DIR } from '../src/stores.ts';
import { median, medianRate, percentile } from './measure.ts';
import { npmStartEnv, spawnUntil, type Spawned } from './processes.ts';
import { gql } from './gql.ts';
import { readEverything } from './event-store.bench.ts';

export interface ScaleSizes {
  /** Conversations in the log at each step of the sweep, ascending; the first is the baseline. */
  conversations: number[];
  /** Conversations of the one heavy user (part of the first step). */
  heavy: number;
  /** Turns (message + reply) per conversation in the sweep: 1 + 3 × turns events each. */
  turns: number;
  /** Single-event appends per measurement, spread over 16 writers. */
  appends: number;
  /** List queries per user and size. */
  queries: number;
  runs: number;
  /** The memory figure: conversations and turns in its data directory. */
  memoryConversations: number;
  memoryTurns: number;
}

export const scaleSizes = (quick: boolean): ScaleSizes => (quick
  ? { conversations: [100, 300, 1_000], heavy: 20, turns: 3, appends: 320, queries: 50, runs: 1, memoryConversations: 300, memoryTurns: 5 }
  : { conversations: [1_000, 10_000, 100_000], heavy: 500, turns: 3, appends: 8_000, queries: 500, runs: 3, memoryConversations: 10_000, memoryTurns: 5 });

const CONVERSATIONS_PER_USER = 10;
/** Conversations appended side by side: each round of theirs is one group commit. */
const CHUNK = 1_000;
const MODEL = 'gpt-4o-mini';
const load = () => loadavg()[0]!.toFixed(2);
const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

// --- text ------------------------------------------------------------------------------------------

const WORDS = ('the a of to and in is it for on with as be this that by are from or at an have not can which you your we our ' +
  'data model event query index table log stream reply message user server time value result plan cost page test build ' +
  'change order number system question answer example function return error file string list write read store state').split(' ');

/** Deterministic prose of about `length` characters (a small LCG, so every run writes the same log). */
class Prose {
  private seed = 12345;
  text(length: number): string {
    const parts: string[] = [];
    let size = 0;
    while (size < length) {
      this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
      const word = WORDS[this.seed % WORDS.length]!;
      parts.push(word);
      size += word.length + 1;
    }
    return `${parts.join(' ')}.`;
  }
}

// --- the data directory ----------------------------------------------------------------------------

/** The platform's embedded stores in `dataDir`, as src/stores.ts opens them, and a generator that grows the log. */
export class DataDir {
  readonly log: SqliteEventStore;
  readonly store: EventStore;
  private readonly keyStore: SqliteKeyStore;
  private readonly prose = new Prose();
  /** A synthetic clock: each event is a quarter of a second after the previous one. */
  private clock = Date.parse('2026-01-01T00:00:00Z');
  events = 0;
  conversations = 0;

  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.log = new SqliteEventStore(join(dir, 'events.sqlite'));
    this.keyStore = SqliteKeyStore.inDataDir(dir);
    this.store = domainStore(this.log, createCodec(this.keyStore, loadMasterKey({ dataDir: dir })));
  }

  private metadata(actorId: string | null) {
    this.clock += 250;
    return { actorId, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date(this.clock).toISOString() };
  }

  private async appendEach(appends: Array<{ stream: string; event: DomainEvent; version: number; actorId: string | null; expected: bigint | 'no_stream' }>) {
    await Promise.all(appends.map((a) => this.store.append(a.stream, [{
      id: uuidv7(), type: a.event.type, schemaVersion: a.version, data: a.event.data, metadata: this.metadata(a.actorId),
    }], { expectedRevision: a.expected })));
    this.events += appends.length;
  }

  /** `count` users registered (UserRegistered, as an operator's `register` records it), in group commits of CHUNK. */
  async addUsers(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => uuidv7());
    for (let i = 0; i < count; i += CHUNK) {
      await this.appendEach(ids.slice(i, i + CHUNK).map((userId, k) => ({
        stream: userStream(userId), actorId: null, expected: 'no_stream' as const, version: userDecider.schemaVersions.UserRegistered,
        event: userDecider.decide({ type: 'RegisterUser', userId, email: `user-${userId}@example.com`, displayName: `User ${i + k}` }, userDecider.initialState())[0]!,
      })));
    }
    return ids;
  }

  /**
   * One conversation per owner in `owners`, each started and then given `turns` turns (user message,
   * reply started, reply completed), decided by the domain's decider. CHUNK conversations at a time,
   * one event of each per round, so their events interleave in the log as concurrent chats do.
   */
  async addConversations(owners: readonly string[], turns: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < owners.length; i += CHUNK) {
      const chunk = owners.slice(i, i + CHUNK).map((ownerId) => ({
        id: uuidv7(), ownerId, state: conversationDecider.initialState() as ConversationState, revision: -1n, lastMessage: '',
      }));
      const round = async (command: (c: typeof chunk[number]) => Parameters<typeof conversationDecider.decide>[0], actor: (c: typeof chunk[number]) => string | null) => {
        const appends = chunk.map((c) => {
          const [event] = conversationDecider.decide(command(c), c.state);
          c.state = conversationDecider.evolve(c.state, event!);
          const expected = c.revision < 0n ? 'no_stream' as const : c.revision;
          c.revision += 1n;
          return { stream: conversationStream(c.id), event: event!, actorId: actor(c), expected,
            version: (conversationDecider.schemaVersions as Record<string, number>)[event!.type] ?? 1 };
        });
        await this.appendEach(appends);
      };
      await round((c) => ({ type: 'StartConversation', conversationId: c.id, ownerId: c.ownerId, title: this.prose.text(30), model: MODEL }), (c) => c.ownerId);
      for (let t = 0; t < turns; t++) {
        await round((c) => { c.lastMessage = uuidv7(); return { type: 'SendUserMessage', conversationId: c.id, actorId: c.ownerId, messageId: c.lastMessage, content: this.prose.text(120) }; }, (c) => c.ownerId);
        const replies = new Map(chunk.map((c) => [c.id, uuidv7()]));
        await round((c) => ({ type: 'StartAssistantReply', conversationId: c.id, replyId: replies.get(c.id)!, inReplyTo: c.lastMessage, model: MODEL }), () => 'system:replies');
        await round((c) => ({
          type: 'CompleteAssistantReply', conversationId: c.id, replyId: replies.get(c.id)!, text: this.prose.text(600), model: `${MODEL}-2024-07-18`,
          usage: { promptTokens: 180, completionTokens: 150, totalTokens: 330 }, timeToFirstTokenMs: 420, latencyMs: 2_900, finishReason: 'stop', sources: [],
          provenance: {
            providerModel: `${MODEL}-2024-07-18`, requestedModel: MODEL, params: {}, systemPromptSha256: null,
            promptSha256: createHash('sha256').update(c.lastMessage).digest('hex'), inReplyTo: [c.lastMessage], sources: [],
            provider: { id: 'openai', host: 'api.openai.com' },
          },
        }), () => 'system:replies');
      }
      ids.push(...chunk.map((c) => c.id));
      this.conversations += chunk.length;
    }
    return ids;
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.keyStore.close();
  }
}

// --- measurements ----------------------------------------------------------------------------------

/**
 * `total` single-event appends (encrypted) by 16 writers: each starts a conversation and sends it 10
 * messages, then the next, so the appended conversations are the size of the generated ones (a
 * writer on one ever-longer conversation would make the rebuilds after it slower than the log is).
 */
async function appendRate(data: DataDir, owners: readonly string[], total: number): Promise<number> {
  const prose = new Prose();
  const perWriter = Math.ceil(total / 16);
  await Promise.all(Array.from({ length: 16 }, async (_, w) => {
    const ownerId = owners[w % owners.length]!;
    let id = '';
    let state = conversationDecider.initialState();
    let revision: bigint | 'no_stream' = 'no_stream';
    for (let i = 0; i < perWriter; i++) {
      if (i % 11 === 0) {
        id = uuidv7();
        state = conversationDecider.initialState();
        revision = 'no_stream';
      }
      const [event] = conversationDecider.decide(i % 11 === 0
        ? { type: 'StartConversation', conversationId: id, ownerId, title: prose.text(30), model: MODEL }
        : { type: 'SendUserMessage', conversationId: id, actorId: ownerId, messageId: uuidv7(), content: prose.text(120) }, state);
      const result = await data.store.append(conversationStream(id), [{
        id: uuidv7(), type: event!.type, schemaVersion: (conversationDecider.schemaVersions as Record<string, number>)[event!.type] ?? 1,
        data: event!.data, metadata: meta(ownerId),
      }], { expectedRevision: revision });
      state = conversationDecider.evolve(state, event!);
      revision = result.nextRevision;
    }
  }));
  data.events += perWriter * 16;
  return perWriter * 16;
}

function meta(actorId: string) {
  return { actorId, correlationId: uuidv7(), causationId: null, requestId: null, occurredAt: new Date().toISOString() };
}

/** Medians of `runs` rounds in which `a` and `b` run in turn: load that comes and goes touches both alike. */
async function pairedRates(runs: number, a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ra.push(await medianRate(1, a));
    rb.push(await medianRate(1, b));
  }
  return [median(ra), median(rb)];
}

/**
 * A grown log with its users: `heavy` owns sizes.heavy conversations, `typical` CONVERSATIONS_PER_USER;
 * `writers` are owners for the append measurement.
 */
interface Grown { data: DataDir; heavy: string; typical: string; owners: string[] }

async function openGrown(dir: string): Promise<Grown> {
  const data = new DataDir(dir);
  const [heavy] = await data.addUsers(1);
  return { data, heavy: heavy!, typical: '', owners: [heavy!] };
}

/** Grows `log` to `target` conversations: the heavy user's first (on the first call), the rest round robin over new users. */
async function grow(log: Grown, target: number, sizes: ScaleSizes): Promise<void> {
  const owners: string[] = log.data.conversations === 0 ? Array.from({ length: sizes.heavy }, () => log.heavy) : [];
  const spread = target - log.data.conversations - owners.length;
  const users = await log.data.addUsers(Math.ceil(spread / CONVERSATIONS_PER_USER));
  if (!log.typical) log.typical = users[0]!;
  log.owners.push(...users.slice(0, 16));
  owners.push(...Array.from({ length: spread }, (_, i) => users[i % users.length]!));
  await log.data.addConversations(owners, sizes.turns);
}

/** A fresh PGlite (on disk, as the platform keeps it) whose conversations model is caught up to the head, as a live one is. */
async function liveReadModel(log: Grown) {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-scale-read-'));
  const db = await PgliteReadDb.open({ dataDir: dir });
  await migrate(db, MIGRATIONS_DIR);
  // The checkpoint at the head (the model is empty): the runner's loop then has nothing to do, and
  // the rebuild below is the one pass over the log, as an operator's rebuild of a live model is.
  const checkpoints = new ProjectionCheckpoints(db);
  await checkpoints.ensure(conversationsProjection.name, conversationsProjection.version ?? 1);
  const head = await log.data.log.headPosition();
  await db.transaction((tx) => checkpoints.advance(tx, conversationsProjection.name, head));
  const runner = new ProjectionRunner({ store: log.data.store, db, projections: [conversationsProjection], logger: pino({ level: 'silent' }), batchSize: 500 });
  await runner.start();
  // Once this instance holds the projection's lease (a rebuild is refused before).
  while ((await runner.status())[0]?.state !== 'running') await new Promise((resolve) => setTimeout(resolve, 5));
  return {
    db,
    /** runner.rebuild, what `evident replay` and the rebuildProjection mutation run: seconds. */
    async rebuild(): Promise<number> {
      const started = performance.now();
      await runner.rebuild(conversationsProjection.name);
      return (performance.now() - started) / 1000;
    },
    async close() {
      await runner.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PAGE = { after: null, before: null, limit: 21, inverted: false }; // first: 20, and one more for hasNextPage

/** `queries` list queries of each owner, alternating between the two read models; p95 in ms of each. */
async function pairedListP95(queries: number, a: { db: ReadDb; owner: string }, b: { db: ReadDb; owner: string }): Promise<[number, number]> {
  const one = async (x: { db: ReadDb; owner: string }) => {
    const t = performance.now();
    const rows = await conversationPage(x.db, x.owner, false, PAGE);
    if (rows.length === 0) throw new Error('the list is empty: the read model was not built');
    return performance.now() - t;
  };
  for (let i = 0; i < 20; i++) { await one(a); await one(b); }
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < queries; i++) { sa.push(await one(a)); sb.push(await one(b)); }
  return [percentile(sa, 95), percentile(sb, 95)];
}

/** Events of these types in the log (what a rebuild of their projection applies). */
function countTypes(data: DataDir, types: readonly string[]): number {
  const db = new DatabaseSync(join(data.dir, 'events.sqlite'), { readOnly: true });
  try {
    const row = db.prepare(`SELECT count(*) AS n FROM events WHERE type IN (${types.map(() => '?').join(', ')})`).get(...types) as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

/** Rows printed as they are measured (a long sweep shows its progress), in columns of fixed width. */
class Table {
  private readonly widths: number[];
  constructor(widths: number[]) { this.widths = widths; }
  add(...cells: string[]): void { console.log(cells.map((cell, i) => cell.padEnd(this.widths[i] ?? 0)).join('  |  ').trimEnd()); }
}

/**
 * The sweep. Every figure at a size is measured in the same rounds as the same figure on a second
 * log of the smallest size (the baseline, same shape), so the ratio shows the growth, not the
 * load that came and went meanwhile; at the smallest size the ratio shows the noise.
 */
export async function benchScale(sizes: ScaleSizes): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), 'evident-bench-scale-')), mkdtempSync(join(tmpdir(), 'evident-bench-scale-base-'))];
  const grown = await openGrown(dirs[0]!);
  const base = await openGrown(dirs[1]!);
  const smallest = sizes.conversations[0]!;
  const baseLabel = `the ${fmt(smallest)}-conversation log`;
  console.log(`\n## Scale sweep: SQLite log (encrypted, as the platform writes it) → PGlite read model (on disk); ${sizes.turns} turns a conversation, ` +
    `${CONVERSATIONS_PER_USER} conversations a user plus one user of ${fmt(sizes.heavy)}; baseline: ${baseLabel}, same rounds (load average ${load()} at the start)`);
  const table = new Table([54, 18, 72]);
  // The baseline log grows by the appends measured on it (sizes.appends × runs a step): its size is shown.
  const ratio = (value: number, baseline: number, shown: string) =>
    `${(value / baseline).toFixed(2)}x of ${baseLabel}, ${fmt(base.data.events)} events (${shown})`;
  try {
    await grow(base, smallest, sizes);
    for (const target of sizes.conversations) {
      const started = performance.now();
      await grow(grown, target, sizes);
      const { data } = grown;
      const at = `${fmt(data.conversations)} conv. (${fmt(data.events)} events)`;
      console.log(`(log of ${at} grown in ${fmt((performance.now() - started) / 1000, 1)} s, load ${load()})`);

      let loadNow = load();
      const [append, appendBase] = await pairedRates(sizes.runs,
        () => appendRate(grown.data, grown.owners.slice(1, 17), sizes.appends), () => appendRate(base.data, base.owners.slice(1, 17), sizes.appends));
      table.add(`append, 16 writers, ${at}`, `${fmt(append)} appends/s`, ratio(append, appendBase, `${fmt(appendBase)}/s`), `load ${loadNow}`);

      loadNow = load();
      const [read, readBase] = await pairedRates(sizes.runs, () => readEverything(grown.data.log), () => readEverything(base.data.log));
      table.add(`read $all as stored, ${at}`, `${fmt(read)} events/s`, ratio(read, readBase, `${fmt(readBase)}/s`), `load ${loadNow}`);
      loadNow = load();
      const [decoded, decodedBase] = await pairedRates(1, () => readEverything(grown.data.store), () => readEverything(base.data.store));
      table.add(`read $all decrypted, ${at}`, `${fmt(decoded)} events/s`, ratio(decoded, decodedBase, `${fmt(decodedBase)}/s`), `load ${loadNow}`);

      const model = await liveReadModel(grown);
      const baseModel = await liveReadModel(base);
      try {
        loadNow = load();
        const seconds = await model.rebuild();
        const baseSeconds = await baseModel.rebuild();
        const rate = countTypes(grown.data, conversationsProjection.eventTypes) / seconds;
        const baseRate = countTypes(base.data, conversationsProjection.eventTypes) / baseSeconds;
        table.add(`rebuild conversations, ${at}`, `${fmt(seconds, 1)} s`, ratio(seconds, baseSeconds, `${fmt(baseSeconds, 1)} s`), `load ${loadNow}`);
        table.add(`rebuild conversations, ${at}`, `${fmt(rate)} events/s`, ratio(rate, baseRate, `${fmt(baseRate)}/s`), `load ${load()}`);

        for (const [who, owner, baseOwner] of [['user of 10', grown.typical, base.typical], [`user of ${fmt(sizes.heavy)}`, grown.heavy, base.heavy]] as const) {
          loadNow = load();
          const [p95, baseP95] = await pairedListP95(sizes.queries, { db: model.db, owner }, { db: baseModel.db, owner: baseOwner });
          table.add(`list p95, ${who}, ${at}`, `${fmt(p95, 2)} ms`, ratio(p95, baseP95, `${fmt(baseP95, 2)} ms`), `load ${loadNow}`);
        }
        if (target === sizes.conversations.at(-1)) {
          const plan = await model.db.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN SELECT conversation_id FROM conversations WHERE owner_id = $1 AND archived = false
              ORDER BY pinned DESC, created_at DESC, conversation_id DESC LIMIT 21`, [grown.heavy]);
          console.log(`(plan of the heavy user's list: ${plan.rows.map((r) => r['QUERY PLAN'].trim()).join(' / ')})`);
        }
      } finally {
        await model.close();
        await baseModel.close();
      }
    }
  } finally {
    await grown.data.close();
    await base.data.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

// --- memory with data ------------------------------------------------------------------------------

const START = new URL('../scripts/start.mjs', import.meta.url).pathname;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.replace(/\D+/g, '')) / 1024 : Number.NaN;
}

/** `npm start`'s bundle on `dataDir` (production, as the idle-memory benchmark runs it); resolves with its GraphQL URL. */
const startServer = (dataDir: string) => spawnUntil([START], { ...npmStartEnv(), DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
  (line) => /^Evident is listening on (\S+)/.exec(line)?.[1], dataDir, 900_000);

/** Polls /readyz until every projection and the chain sealer have no lag; returns the seconds it took. */
async function caughtUp(url: string, timeoutMs = 900_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(new URL('/readyz', url)).catch(() => undefined);
    const body = await response?.json().catch(() => undefined) as
      { projections?: Array<{ lagEvents: number; state: string }>; chainSealer?: { lagEvents: number } } | undefined;
    if (body?.projections?.length && body.projections.every((p) => p.lagEvents === 0) && body.chainSealer?.lagEvents === 0) {
      return (performance.now() - started) / 1000;
    }
    if (performance.now() - started > timeoutMs) throw new Error(`projections did not catch up within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const LIST = '{ conversations(first: 20) { edges { node { id title model messageCount } } pageInfo { hasNextPage } } }';

/** RSS once caught up and 5 s idle, then after `queries` list queries (one at a time, for latency) as `token`. */
async function measureServer(server: Spawned & { value: string }, token: string, queries: number) {
  const catchUp = await caughtUp(server.value);
  const peak = procStatus(server.child.pid!, 'VmHWM');
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idle = procStatus(server.child.pid!, 'VmRSS');
  const idleLoad = load();
  const samples: number[] = [];
  for (let i = 0; i < queries; i++) {
    const t = performance.now();
    await gql(server.value, LIST, {}, token);
    samples.push(performance.now() - t);
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return { catchUp, peak, idle, idleLoad, afterQueries: procStatus(server.child.pid!, 'VmRSS'), p95: percentile(samples, 95), queryLoad: load() };
}

async function account(url: string): Promise<{ userId: string; token: string }> {
  const email = `heavy-${Date.now()}@example.com`;
  const { register } = await gql<{ register: { id: string } }>(url,
    'mutation($e: String!) { register(email: $e, password: "bench-password", displayName: "Heavy") { id } }', { e: email });
  const { login } = await gql<{ login: { token: string } }>(url, 'mutation($e: String!) { login(email: $e, password: "bench-password") { token } }', { e: email });
  return { userId: register.id, token: login.token };
}

export async function benchMemoryWithData(sizes: ScaleSizes): Promise<void> {
  if (process.platform !== 'linux') {
    console.log('\n## Memory with data: skipped, it reads /proc (Linux only)');
    return;
  }
  const empty = mkdtempSync(join(tmpdir(), 'evident-bench-memdata-empty-'));
  const full = mkdtempSync(join(tmpdir(), 'evident-bench-memdata-'));
  const queries = Math.max(200, sizes.queries);
  // The server bundle and the web app as `npm start` would make them, made here first: a start that
  // builds them holds esbuild's or vite's memory too.
  const bundle = await import(new URL('../scripts/server-bundle.mjs', import.meta.url).href) as { serverBundleIsFresh(): boolean; buildServerBundle(): Promise<string> };
  if (!bundle.serverBundleIsFresh()) await bundle.buildServerBundle();
  const web = await import(new URL('../scripts/web-build.mjs', import.meta.url).href) as { webBuildIsFresh(): boolean; buildWeb(): Promise<unknown> };
  if (!web.webBuildIsFresh()) await web.buildWeb();
  try {
    // Both directories alike: the platform makes the account (so its session is real) and is stopped;
    // the empty one then gets 20 conversations through the API, the other its log grown beside it;
    // each is measured on its second start, caught up.
    let server = await startServer(empty);
    let small: { userId: string; token: string };
    try {
      await caughtUp(server.value);
      small = await account(server.value);
      for (let i = 0; i < 20; i++) await gql(server.value, `mutation { startConversation(input: { title: "c${i}", model: "${MODEL}" }) { id } }`, {}, small.token);
    } finally {
      await server.stop();
    }
    server = await startServer(empty);
    let baseline;
    try {
      baseline = await measureServer(server, small.token, queries);
    } finally {
      await server.stop();
    }

    server = await startServer(full);
    let heavy: { userId: string; token: string };
    try {
      await caughtUp(server.value);
      heavy = await account(server.value);
    } finally {
      await server.stop();
    }
    const data = new DataDir(full);
    const started = performance.now();
    try {
      const spread = sizes.memoryConversations - sizes.heavy;
      const users = await data.addUsers(Math.ceil(spread / CONVERSATIONS_PER_USER));
      await data.addConversations([
        ...Array.from({ length: sizes.heavy }, () => heavy.userId),
        ...Array.from({ length: spread }, (_, i) => users[i % users.length]!),
      ], sizes.memoryTurns);
    } finally {
      await data.close();
    }
    const messages = data.conversations * sizes.memoryTurns * 2;
    const grown = (performance.now() - started) / 1000;
    const spawned = performance.now();
    server = await startServer(full);
    const listening = (performance.now() - spawned) / 1000;
    let withData;
    try {
      withData = { ...await measureServer(server, heavy.token, queries), listening };
    } finally {
      await server.stop();
    }
    console.log(`\n## Memory with data: npm start (bundle) on ${fmt(data.conversations)} conversations, ${fmt(messages)} messages ` +
      `(${fmt(data.events)} events, written in ${fmt(grown, 1)} s), beside an empty data directory (one account, 20 conversations) in the same run; both on their second start`);
    const rows = [
      ['RSS, caught up and 5 s idle', `${fmt(withData.idle)} MB`, `${(withData.idle / baseline.idle).toFixed(2)}x of the empty data directory (${fmt(baseline.idle)} MB)`, `load ${withData.idleLoad}`],
      [`RSS after ${queries} list queries`, `${fmt(withData.afterQueries)} MB`, `${(withData.afterQueries / baseline.afterQueries).toFixed(2)}x of the empty data directory (${fmt(baseline.afterQueries)} MB)`, `load ${withData.queryLoad}`],
      ['peak RSS (VmHWM) until caught up', `${fmt(withData.peak)} MB`, `${(withData.peak / baseline.peak).toFixed(2)}x of the empty data directory (${fmt(baseline.peak)} MB)`, `load ${withData.idleLoad}`],
      ['spawn → listening line', `${fmt(withData.listening, 1)} s`, '', `load ${withData.idleLoad}`],
      ['then catch-up of the projections and sealer', `${fmt(withData.catchUp, 1)} s`, `${fmt(data.events / withData.catchUp)} events/s`, `load ${withData.idleLoad}`],
      [`list p95 (API, one client), user of ${fmt(sizes.heavy)}`, `${fmt(withData.p95, 1)} ms`, `${(withData.p95 / baseline.p95).toFixed(2)}x of the empty data directory, user of 20 (${fmt(baseline.p95, 1)} ms)`, `load ${withData.queryLoad}`],
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((l) => l[i]!.length)));
    for (const line of rows) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join('  |  ').trimEnd());
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(full, { recursive: true, force: true });
  }
}

