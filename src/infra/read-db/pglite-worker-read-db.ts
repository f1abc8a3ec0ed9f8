import { Worker } from 'node:worker_threads';
import { ReadDbClosedError, TransactionAbortedError } from './errors.ts';
import type { Lease, QueryResult, ReadDb, SqlExecutor } from './port.ts';
import type { PgliteWorkerData, SerializedError, WorkerCall, WorkerReply } from './pglite-worker.ts';

/** Set by scripts/server-bundle.mjs: the directory of the server bundle, where the worker is bundled too. */
declare const EVIDENT_SERVER_BUNDLE_DIR: string | undefined;

const WORKER_URL = typeof EVIDENT_SERVER_BUNDLE_DIR === 'string'
  ? new URL('pglite-worker.mjs', EVIDENT_SERVER_BUNDLE_DIR)
  : new URL('./pglite-worker.ts', import.meta.url);

export interface PgliteWorkerReadDbOptions {
  /** A directory for the database files; undefined keeps the database in memory. */
  dataDir?: string;
}

/** Never lost: the lease lives as long as the process that owns the directory. */
const FREE_LEASE: Lease = { lost: new AbortController().signal, release: async () => {} };

type Call = WorkerCall extends infer C ? C extends { id: number } ? Omit<C, 'id'> : never : never;

function deserializeError(error: SerializedError): Error {
  if (error.name === 'ReadDbClosedError') return new ReadDbClosedError();
  if (error.name === 'TransactionAbortedError') return new TransactionAbortedError();
  return Object.assign(new Error(error.message), error.props, { name: error.name });
}

/** Structured cloning turns a Buffer (bytea) into a plain Uint8Array: make it a Buffer again, as PgliteReadDb returns. */
function asBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(asBuffers);
  return value;
}

function restoreRows<Row>(result: QueryResult<unknown>): QueryResult<Row> {
  for (const row of result.rows as Array<Record<string, unknown>>) {
    for (const key in row) {
      const value = row[key];
      if (value instanceof Uint8Array || Array.isArray(value)) row[key] = asBuffers(value);
    }
  }
  return result as QueryResult<Row>;
}

/**
 * The embedded read database (PgliteReadDb: PGlite with pgvector) in a worker thread. Its start —
 * compiling the WebAssembly, starting PostgreSQL — then runs on another core while the main thread
 * loads and builds the rest of the server, and its queries run beside the main thread's work.
 * Behaves as PgliteReadDb: one connection, transactions serialised (a transaction callback must
 * use its `tx` argument only).
 */
export class PgliteWorkerReadDb implements ReadDb {
  readonly kind = 'pglite';
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private nextId = 1;
  private closed = false;
  /** Set once the worker is gone: every later call fails with it. */
  private stopped: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(worker: Worker) {
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: WorkerReply) => {
      if (message.type !== 'reply') return;
      const call = this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.ok) call.resolve(message.value);
      else call.reject(deserializeError(message.error));
    });
    const stop = (error: Error) => {
      this.stopped ??= error;
      for (const call of this.pending.values()) call.reject(this.stopped);
      this.pending.clear();
    };
    worker.on('error', (error) => stop(Object.assign(new Error(`The read database's worker failed: ${error.message}`), { cause: error })));
    worker.on('exit', () => stop(new ReadDbClosedError()));
  }

  /** Starts the worker at once; resolves when the database is open, or rejects with the reason it could not be. */
  static open(options: PgliteWorkerReadDbOptions = {}): Promise<PgliteWorkerReadDb> {
    const worker = new Worker(WORKER_URL, { workerData: { dataDir: options.dataDir } satisfies PgliteWorkerData });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`The read database's worker exited (code ${code}) before the database opened`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: WorkerReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.type === 'ready') {
          const db = new PgliteWorkerReadDb(worker);
          worker.unref(); // referenced only while a call is waiting for its reply
          resolve(db);
        } else if (message.type === 'open-failed') {
          reject(deserializeError(message.error));
        }
      });
    });
  }

  private call<T>(call: Call): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...call, id } as WorkerCall);
    });
  }

  private executor(tx: number | undefined): SqlExecutor {
    return {
      query: async <Row>(sql: string, params?: readonly unknown[]) =>
        restoreRows<Row>(await this.call<QueryResult<unknown>>({ op: 'query', sql, params, tx })),
      exec: async (sql: string) => {
        await this.call({ op: 'exec', sql, tx });
      },
    };
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.closed) throw new ReadDbClosedError();
    return this.executor(undefined).query<Row>(sql, params);
  }

  async exec(sql: string): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    await this.executor(undefined).exec(sql);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    if (this.closed) throw new ReadDbClosedError();
    const tx = this.nextId;
    await this.call({ op: 'begin' });
    let result: T;
    try {
      result = await fn(this.executor(tx));
    } catch (error) {
      await this.call({ op: 'end', tx, commit: false }).catch(() => {});
      throw error;
    }
    await this.call({ op: 'end', tx, commit: true });
    return result;
  }

  /** Always granted: one process owns a PGlite directory. */
  async tryLease(_name: string): Promise<Lease | null> {
    if (this.closed) throw new ReadDbClosedError();
    return FREE_LEASE;
  }

  async scrub(tables: readonly string[]): Promise<void> {
    if (this.closed) throw new ReadDbClosedError();
    await this.call({ op: 'scrub', tables });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.stopped) await this.call({ op: 'close' });
    } finally {
      // The database is closed (its files written): the thread is not needed any more.
      await this.worker.terminate();
      await this.exited;
    }
  }
}
