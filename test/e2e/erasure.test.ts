// Erasure survives kill -9 (embedded default, a real process killed): whether it dies right after
// eraseUser answered, or between recording the erasure and scrubbing the read models, once the next
// start has done its work no file under DATA_DIR holds the person's personal data or wrapped key, while
// the other people's data is still found by the same scan.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { expectErased, leaks, type Person } from '../commands/erasure-support.ts';

const CHILD = fileURLToPath(new URL('./erasure-child.ts', import.meta.url));
/** Bounds, not timings: the child starts PGlite and runs three people's conversations on a busy machine. */
const CHILD_MS = 240_000;
const SCRUB_MS = 60_000;

interface People { admin: Person; victim: Person; other: Person; key: string }

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the child until it prints `until`, then kills it with SIGKILL. */
async function runAndKill(dataDir: string, mode: 'answered' | 'unscrubbed'): Promise<People> {
  const child = spawn(process.execPath, [CHILD, dataDir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const deadline = Date.now() + CHILD_MS;
  const next = async (): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no line from the child in time; stderr: ${stderr.slice(-2000)}`)), Math.max(0, deadline - Date.now()));
    });
    const line = await Promise.race([lines.next(), timeout]).finally(() => clearTimeout(timer));
    if (line.done) throw new Error(`the child ended early; stderr: ${stderr.slice(-2000)}`);
    return line.value;
  };
  try {
    const people = JSON.parse(await next()) as People;
    expect(await next()).toBe(mode);
    return people;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Starts the app again on `dataDir` (crash recovery), waits until every erasure is scrubbed, and stops it. */
async function restart(dataDir: string): Promise<void> {
  const app = await createApp(loadConfig({ DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'silent' }), createLogger('silent', false));
  try {
    const erasures = await app.store.readAll({ filter: { eventTypes: ['UserDataErased'] } });
    expect(erasures).toHaveLength(1);
    const deadline = Date.now() + SCRUB_MS;
    for (;;) {
      const { rows } = await app.readDb.query<{ position: string }>("SELECT position FROM reactor_checkpoints WHERE name = 'erasure-scrub'");
      if (rows[0] && BigInt(rows[0].position) >= erasures[0]!.position) break;
      if (Date.now() > deadline) throw new Error('the restarted app did not scrub the erasure in time');
      await sleep(100);
    }
  } finally {
    await app.close();
  }
}

describe('erasure and kill -9, embedded default', () => {
  for (const mode of ['answered', 'unscrubbed'] as const) {
    const when = mode === 'answered' ? 'right after eraseUser answered' : 'between recording the erasure and scrubbing';
    it(`killed ${when}: after the next start nothing of the person is on disk`, { timeout: CHILD_MS + SCRUB_MS + 120_000 }, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'evident-erasure-'));
      dirs.push(dataDir);
      const people = await runAndKill(dataDir, mode);
      if (mode === 'unscrubbed') expect(Object.keys(leaks(dataDir, people.victim.secrets)).length).toBeGreaterThan(0); // the start has work to do
      await restart(dataDir);
      expectErased(dataDir, people.victim, Buffer.from(people.key, 'base64'), [people.admin, people.other]);
    });
  }
});
