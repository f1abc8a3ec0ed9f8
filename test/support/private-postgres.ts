// A PostgreSQL 15 cluster owned by one test: its own data directory, port and unix-socket directory,
// so the test can crash it (`pg_ctl stop -m immediate`) and start it again on the same port without
// touching the shared server. As root, the binaries run as the `postgres` OS user (initdb refuses root).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { skipReason } from './requirements.ts';

const run = promisify(execFile);

export const PG_BIN = process.env.EVIDENT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const BINARIES = ['initdb', 'pg_ctl', 'postgres'];
const OS_USER = 'postgres';

function asRoot(): boolean {
  return process.getuid?.() === 0;
}

function osUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', OS_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', OS_USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Prints and returns the one line a skipped suite owes the reader; undefined when a private cluster can be started. */
export function privatePostgresSkipReason(suite: string): string | undefined {
  let missingWhat: string | undefined;
  const missing = BINARIES.filter((name) => !existsSync(join(PG_BIN, name)));
  if (missing.length > 0) missingWhat = `PostgreSQL binaries not found in ${PG_BIN} (${missing.join(', ')}; set EVIDENT_PG_BIN)`;
  else if (asRoot() && !osUser()) missingWhat = `running as root and there is no "${OS_USER}" OS user to run PostgreSQL as`;
  return skipReason(suite, missingWhat); // throws under CI=true
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** `pg_ctl stop -m immediate`: every backend killed at once, no checkpoint (crash recovery on the next start). */
  crash(): Promise<void>;
  /** Starts the cluster again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the cluster (if running) and removes its directory. */
  destroy(): Promise<void>;
  /** The server's own log, for failure messages. */
  log(): string;
}

const clusters = new Set<string>();
process.once('exit', () => {
  for (const data of clusters) {
    try {
      execFileSync(...command('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    } catch { /* not running */ }
  }
});

function command(binary: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, binary);
  return asRoot() ? ['runuser', ['-u', OS_USER, '--', path, ...args]] : [path, args];
}

async function pg(binary: string, args: string[]): Promise<void> {
  const [file, argv] = command(binary, args);
  try {
    await run(file, argv, { timeout: 120_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
}

/** initdb a fresh cluster in a temporary directory and start it on a free port of 127.0.0.1. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-pg-'));
  if (asRoot()) {
    const user = osUser()!;
    chownSync(dir, user.uid, user.gid);
  }
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions']);
  clusters.add(data);
  const port = await freePort();
  // fsync=off: the test crashes PostgreSQL, never the machine, so the OS still has every write.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  let running = false;
  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await pg('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '120', 'start']);
      running = true;
    },
    async crash() {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await cluster.crash().catch(() => {});
      clusters.delete(data);
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  try {
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
