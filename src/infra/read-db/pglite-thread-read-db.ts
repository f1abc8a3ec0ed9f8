import { Worker } from 'node:worker_threads';
import { ReadDbClosedError } from './errors.ts';
import type { PgliteReadDbOptions } from './pglite-read-db.ts';
import { fromWireError, type ThreadReply, type ThreadRequest } from './pglite-thread-protocol.ts';
import type { Lease, QueryResult, ReadDb, SqlExecutor } from './port.ts';

const WORKER_URL = new URL('./pglite-thread-worker.ts', import.meta.url);

/** Never lost: the lease lives as long as the process that owns the directory. */
const FREE_LEASE: Lease = { lost: new AbortController().signal, release: async () => {} };

/** A request before its id is given. */
type Unsent = ThreadRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(result: QueryResult<unknown> | undefined): void;
  reject(error: Error): void;
}

/**
 * The embedded read database (PgliteReadDb, PGlite with pgvector) in a worker thread of its own.
 * PGlite runs each statement synchronously on the thread that calls it; on the server's thread the
 * projections' writes held up requests, provider streams and the log's commits for as long as they
 * ran (docs/benchmarks.md, time to first token). Same behaviour as PgliteReadDb: one connection,
 * transactions serialised, a `query` outside a transaction waits for the running one, and a
 * transaction callback must use its `tx` only. Values cross by structured clone (bytea comes back as
 * a Buffer, as from PgliteReadDb).
 */
export class PgliteThreadReadDb implements ReadDb {
  readonly kind = 'pglite';
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing: Promise<void> | null = null;
  /** Set when the thread died: every call fails with it from then on. */
  private failure: Error | null = null;
  private readonly exited: Promise<void>;

  private constructor(options: PgliteReadDbOptions) {
    this.worker = new Worker(WORKER_URL, { workerData: options });
    this.worker.unref();
    this.worker.on('message', (reply: ThreadReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(new Error(`The read database thread failed: ${error.message}`)));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => {
      this.fail(this.closing ? new ReadDbClosedError() : new Error('The read database thread stopped'));
      resolve();
    }));
  }

  static async open(options: PgliteReadDbOptions = {}): Promise<PgliteThreadReadDb> {
    const db = new PgliteThreadReadDb({ dataDir: options.dataDir });
    try {
      await db.await(0);
    } catch (error) {
      await db.worker.terminate();
      throw error;
    }
    return db;
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    return this.send({ op: 'query', tx: null, sql, params: params ?? [] }) as Promise<QueryResult<Row>>;
  }

  async exec(sql: string): Promise<void> {
    await this.send({ op: 'exec', tx: null, sql });
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.assertOpen();
    // Not waited for: the transaction's statements follow at once and wait in the thread for its start;
    // a begin that failed fails them, and so the commit.
    const { id: tx, answer: begun } = this.request({ op: 'begin' });
    begun.catch(() => {});
    let ended = false;
    const closed = () => Promise.reject(new Error('Transaction is closed'));
    const executor: SqlExecutor = {
      query: <Row>(sql: string, params?: readonly unknown[]) =>
        ended ? closed() : this.send({ op: 'query', tx, sql, params: params ?? [] }) as Promise<QueryResult<Row>>,
      exec: async (sql: string) => {
        if (ended) return closed();
        await this.send({ op: 'exec', tx, sql });
      },
    };
    let result: T;
    try {
      result = await fn(executor);
    } catch (error) {
      ended = true;
      await this.send({ op: 'rollback', tx }).catch(() => {}); // the callback's error is the one to report
      throw error;
    }
    ended = true;
    await this.send({ op: 'commit', tx });
    return result;
  }

  /** Always granted: one process owns a PGlite directory. */
  async tryLease(_name: string): Promise<Lease | null> {
    this.assertOpen();
    return FREE_LEASE;
  }

  async scrub(tables: readonly string[]): Promise<void> {
    await this.send({ op: 'scrub', tables });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.failure) await this.send({ op: 'close' }, true).catch(() => {});
      this.failure ??= new ReadDbClosedError();
      await this.exited;
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new ReadDbClosedError();
  }

  private async send(request: Unsent, closing = false): Promise<QueryResult<unknown> | undefined> {
    if (!closing) this.assertOpen();
    return this.request(request).answer;
  }

  private request(request: Unsent): { id: number; answer: Promise<QueryResult<unknown> | undefined> } {
    const id = this.nextId++;
    const answer = this.await(id);
    try {
      this.worker.postMessage({ ...request, id });
    } catch (error) {
      // A parameter structured clone cannot copy (a function, a symbol): refused before it is sent.
      this.settle({ id, ok: false, error: { name: 'TypeError', message: `A statement's parameters cannot be sent to the read database: ${(error as Error).message}`, fields: {} } });
    }
    return { id, answer };
  }

  private await(id: number): Promise<QueryResult<unknown> | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending.size === 0) this.worker.ref(); // a statement in flight keeps the process alive, an idle thread does not
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private settle(reply: ThreadReply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref(); // a close waits for the thread's exit
    if (reply.ok) pending.resolve(reply.result && withBuffers(reply.result));
    else pending.reject(fromWireError(reply.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }
}

/** bytea values arrive as Uint8Array (structured clone drops Buffer's prototype); callers get Buffers. */
function withBuffers(result: QueryResult<unknown>): QueryResult<unknown> {
  for (const row of result.rows as Array<Record<string, unknown>>) {
    for (const key in row) {
      const value = row[key];
      if (value instanceof Uint8Array) row[key] = toBuffer(value);
      else if (Array.isArray(value) && value.some((item) => item instanceof Uint8Array)) row[key] = value.map((item) => (item instanceof Uint8Array ? toBuffer(item) : item));
    }
  }
  return result;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
