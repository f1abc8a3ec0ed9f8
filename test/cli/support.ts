// The CLI as a child process (bin/evident.mjs under this Node 26), against a data directory that a
// realistic workload prepared through the real app: users, conversations, replies from the fake
// provider, a rename, an erasure.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually, getConversation, newUser, ok, SEND, startConversation, startTestApp, WAIT_MS, type TestApp, type TestUser,
} from '../graphql/support.ts';

const BIN = new URL('../../bin/evident.mjs', import.meta.url).pathname;
/** A directory without a .env, so the child reads only the environment given. */
const CWD = mkdtempSync(join(tmpdir(), 'evident-cli-cwd-'));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the child: only what a test gives it (never the machine's DATABASE_URL). */
export function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NODE_ENV: 'test', ...env };
}

export function spawnCli(args: readonly string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { cwd: CWD, env: cliEnv(env) });
}

export function runCli(args: readonly string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`evident ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function runJson<T = Record<string, unknown>>(args: readonly string[], env: Record<string, string>): Promise<T> {
  const result = await runCli(['--json', ...args], env);
  if (result.code !== 0) throw new Error(`evident ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

export interface Workload {
  dataDir: string;
  /** The environment the CLI needs to open the same stores. */
  env: Record<string, string>;
  admin: TestUser;
  alice: TestUser;
  bob: TestUser;
  /** Alice's conversation, renamed after its first reply. */
  conversationId: string;
  titleBefore: string;
  titleAfter: string;
  /** The head of the log just before the rename, and the conversation as the API showed it then. */
  beforeRename: bigint;
  recordedBeforeRename: { title: string | null; messageCount: number };
  /** Bob's conversation (erased with him). */
  bobConversationId: string;
  /** The app, still open when `keepOpen` was asked for. */
  app: TestApp | null;
  close(): Promise<void>;
}

async function replied(app: TestApp, token: string, conversationId: string, count: number) {
  await eventually(async () => {
    const conversation = await getConversation(app.yoga, token, conversationId);
    const done = conversation.messages.edges.filter((e) => e.node.role === 'ASSISTANT' && e.node.status === 'COMPLETE');
    return done.length >= count;
  }, 'the assistant replies', WAIT_MS * 2);
}

/** Runs the workload through the real app, then closes it (unless keepOpen), leaving the data directory to the CLI. */
export async function prepareWorkload(options: { env?: Record<string, string>; keepOpen?: boolean } = {}): Promise<Workload> {
  const env = options.env ?? {};
  const app = await startTestApp({ env });
  const admin = await newUser(app.yoga, { displayName: 'Ada Admin' });
  const alice = await newUser(app.yoga, { displayName: 'Alice' });
  const bob = await newUser(app.yoga, { displayName: 'Bob' });
  const titleBefore = 'Holiday plans';
  const titleAfter = 'Trip to Lisbon';
  const conversation = await startConversation(app.yoga, alice.token, { title: titleBefore, systemPrompt: 'Be brief' });
  await ok(app.yoga, SEND, { conversationId: conversation.id, content: 'Where should I go?' }, alice.token);
  await replied(app, alice.token, conversation.id, 1);
  const beforeRename = await app.app.store.headPosition();
  const then = await getConversation(app.yoga, alice.token, conversation.id);
  const recordedBeforeRename = { title: then.title, messageCount: then.messageCount };
  await ok(app.yoga, 'mutation R($id: ID!, $title: String!) { renameConversation(id: $id, title: $title) { id } }',
    { id: conversation.id, title: titleAfter }, alice.token);
  await ok(app.yoga, SEND, { conversationId: conversation.id, content: 'And in winter?' }, alice.token);
  await replied(app, alice.token, conversation.id, 2);
  const bobConversation = await startConversation(app.yoga, bob.token, { title: "Bob's secrets" });
  await ok(app.yoga, SEND, { conversationId: bobConversation.id, content: 'My phone number is 555-0100' }, bob.token);
  await replied(app, bob.token, bobConversation.id, 1);
  await ok(app.yoga, 'mutation E($id: ID!) { eraseUser(id: $id) }', { id: bob.userId }, admin.token);
  const head = await app.app.store.headPosition();
  await app.app.projections.waitFor(head, { timeoutMs: WAIT_MS });

  const dataDir = app.dataDir;
  let open: TestApp | null = app;
  if (!options.keepOpen) {
    // Closed without deleting the directory: the CLI works on it.
    await app.app.close();
    await app.fake?.close();
    open = null;
  }
  return {
    dataDir, env: { DATA_DIR: dataDir, ...env }, admin, alice, bob, conversationId: conversation.id, titleBefore, titleAfter,
    beforeRename, recordedBeforeRename, bobConversationId: bobConversation.id, app: open,
    async close() {
      if (open) await open.close();
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
