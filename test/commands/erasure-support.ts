// Shared by the erasure-on-disk tests: people with distinctive personal data, put in through GraphQL,
// and a byte scan of every file under DATA_DIR.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect } from 'vitest';

/** One GraphQL call that must succeed: (query, variables, token) → data. */
export type Call = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string) => Promise<T>;

const REGISTER = `mutation($email: String!, $password: String!, $displayName: String!) {
  register(email: $email, password: $password, displayName: $displayName) { id } }`;
const LOGIN = 'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }';
const START = 'mutation($input: StartConversationInput) { startConversation(input: $input) { id } }';
const SEND = 'mutation($id: ID!, $content: String!) { sendMessage(conversationId: $id, content: $content) { id } }';
const MESSAGES = `query($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { role status content } } } } }`;
export const ERASE = 'mutation($id: ID!) { eraseUser(id: $id) }';
export const REBUILD = 'mutation($name: String!) { rebuildProjection(name: $name) { name state lastError } }';
export const PROJECTIONS = ['users', 'conversations'];

/** Random, so a hit cannot be a coincidence; hex, so PGlite cannot compress it away. */
const mark = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

export interface Person {
  userId: string;
  token: string;
  /** Every distinctive string this person put in (their email is lower case, as it is stored). */
  secrets: string[];
}

export function personalData(label: string) {
  const longPrompt = randomBytes(3000).toString('hex'); // 6000 characters: stored out of line (TOAST)
  return {
    email: `${mark(`${label}mail`)}@example.com`,
    displayName: mark(`${label}name`),
    title: mark(`${label}title`),
    systemPrompt: `${mark(`${label}prompt`)} ${longPrompt}`,
    messages: [mark(`${label}msga`), `${mark(`${label}msgb`)} ${randomBytes(1500).toString('hex')}`],
    /** Slices of the long values (a TOAST chunk holds about 2 kB, so no chunk holds all of one). */
    slices: [longPrompt.slice(0, 40), longPrompt.slice(2500, 2540), longPrompt.slice(5900, 5940)],
  };
}

/** Registers, starts two conversations, sends each message and waits (bounded) for the echoed replies. */
export async function seedPerson(call: Call, label: string, waitMs: number): Promise<Person> {
  const data = personalData(label);
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const { register } = await call<{ register: { id: string } }>(REGISTER, { email: data.email, password, displayName: data.displayName });
  const { login } = await call<{ login: { token: string } }>(LOGIN, { email: data.email, password });
  for (const [i, input] of [{ title: data.title, systemPrompt: data.systemPrompt }, { title: `${data.title}-2` }].entries()) {
    const { startConversation } = await call<{ startConversation: { id: string } }>(START, { input: { ...input, model: 'fake-echo' } }, login.token);
    const content = data.messages[i]!;
    await call(SEND, { id: startConversation.id, content }, login.token);
    await repliesComplete(call, login.token, startConversation.id, content, waitMs);
  }
  return {
    userId: register.id, token: login.token,
    secrets: [data.email, data.displayName, data.title, data.systemPrompt.split(' ')[0]!, ...data.messages.map((m) => m.split(' ')[0]!), ...data.slices],
  };
}

async function repliesComplete(call: Call, token: string, conversationId: string, content: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { conversation } = await call<{ conversation: { messages: { edges: Array<{ node: { role: string; status: string; content: string | null } }> } } }>(
      MESSAGES, { id: conversationId }, token);
    const reply = conversation.messages.edges.map((e) => e.node).find((m) => m.role === 'ASSISTANT');
    if (reply?.status === 'COMPLETE') {
      if (!reply.content?.includes(content.split(' ')[0]!)) throw new Error(`the reply does not echo the message: ${reply.content}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`no complete reply in ${conversationId} within ${waitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The person's wrapped data key, read straight from keys.sqlite (with its own, closed, connection). */
export function wrappedKey(dataDir: string, userId: string): Buffer {
  const db = new DatabaseSync(join(dataDir, 'keys.sqlite'), { readOnly: true });
  try {
    const row = db.prepare('SELECT wrapped FROM subject_keys WHERE subject_id = ?').get(userId) as { wrapped: Uint8Array } | undefined;
    if (!row) throw new Error(`no key for ${userId}`);
    return Buffer.from(row.wrapped);
  } finally {
    db.close();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** For each needle, the files under `dir` that hold it (as UTF-8 or UTF-16LE for strings, as given for buffers). */
export function findOnDisk(dir: string, needles: ReadonlyArray<string | Buffer>): Map<string | Buffer, string[]> {
  const found = new Map<string | Buffer, string[]>(needles.map((n) => [n, []]));
  const files = filesUnder(dir);
  if (files.length === 0) throw new Error(`no files under ${dir}`);
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const needle of needles) {
      const forms = typeof needle === 'string' ? [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')] : [needle];
      if (forms.some((form) => bytes.includes(form))) found.get(needle)!.push(file.slice(dir.length + 1));
    }
  }
  return found;
}

/** Needles found in some file, with where: {} when none is. */
export function leaks(dir: string, needles: ReadonlyArray<string | Buffer>): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [needle, files] of findOnDisk(dir, needles)) {
    if (files.length > 0) result[typeof needle === 'string' ? needle.slice(0, 60) : `bytes:${needle.toString('hex').slice(0, 24)}`] = files;
  }
  return result;
}

/** Nothing of `victim` (nor their wrapped key) in any file under dataDir; everything of `others` still found. */
export function expectErased(dataDir: string, victim: Person, key: Buffer, others: Person[]): void {
  expect(leaks(dataDir, [...victim.secrets, key])).toEqual({});
  const otherSecrets = others.flatMap((person) => person.secrets);
  expect(Object.keys(leaks(dataDir, otherSecrets))).toHaveLength(otherSecrets.length);
}
