// The worker thread of PgliteWorkerReadDb (pglite-worker-read-db.ts): opens the embedded read
// database with PgliteReadDb and answers the calls the main thread sends it, one message each way.
import { parentPort, workerData } from 'node:worker_threads';
import { PgliteReadDb } from './pglite-read-db.ts';
import type { QueryResult, SqlExecutor } from './port.ts';

export interface PgliteWorkerData {
  dataDir: string | undefined;
}

export type WorkerCall =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[] | undefined; tx: number | undefined }
  | { id: number; op: 'exec'; sql: string; tx: number | undefined }
  /** Answered once the transaction has begun; its id is the transaction's id in later calls. */
  | { id: number; op: 'begin' }
  /** Commits (or rolls back) transaction `tx`; answered once it has. */
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'scrub'; tables: readonly string[] }
  | { id: number; op: 'close' };

/** An error as it crosses the thread boundary: structured cloning would keep only its message. */
export interface SerializedError {
  name: string;
  message: string;
  props: Record<string, unknown>;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'open-failed'; error: SerializedError }
  | { type: 'reply'; id: number; ok: true; value: QueryResult<unknown> | undefined }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), props: {} };
  const props: Record<string, unknown> = {};
  // PostgreSQL's fields (code, detail, hint, position, …) are own properties of PGlite's errors.
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) props[key] = value;
  }
  return { name: error.name, message: error.message, props };
}

/** Thrown inside a transaction callback to roll it back when the main thread's callback failed. */
class RollBack extends Error {}

interface OpenTransaction {
  tx: SqlExecutor;
  end(commit: boolean, replyId: number): void;
}

async function serve(): Promise<void> {
  const port = parentPort!;
  const { dataDir } = workerData as PgliteWorkerData;
  let db: PgliteReadDb;
  try {
    db = await PgliteReadDb.open({ dataDir });
  } catch (error) {
    port.postMessage({ type: 'open-failed', error: serializeError(error) } satisfies WorkerReply);
    port.close();
    return;
  }
  const transactions = new Map<number, OpenTransaction>();
  const reply = (id: number, outcome: Promise<QueryResult<unknown> | undefined>) => {
    outcome.then(
      (value) => port.postMessage({ type: 'reply', id, ok: true, value } satisfies WorkerReply),
      (error: unknown) => port.postMessage({ type: 'reply', id, ok: false, error: serializeError(error) } satisfies WorkerReply),
    );
  };
  const executor = (tx: number | undefined): SqlExecutor => {
    if (tx === undefined) return db;
    const open = transactions.get(tx);
    if (!open) throw new Error('This transaction has already ended');
    return open.tx;
  };

  const begin = (id: number) => {
    let began!: () => void;
    const begun = new Promise<undefined>((resolve) => { began = () => resolve(undefined); });
    let finish!: (commit: boolean, replyId: number) => void;
    const ended = new Promise<{ commit: boolean; replyId: number }>((resolve) => { finish = (commit, replyId) => resolve({ commit, replyId }); });
    const done = db.transaction(async (tx) => {
      transactions.set(id, { tx, end: finish });
      began();
      const { commit } = await ended;
      transactions.delete(id);
      if (!commit) throw new RollBack();
    });
    // Failing before it began (the database closed): the begin call gets the error.
    reply(id, Promise.race([begun, done.then(() => undefined)]));
    void ended.then(({ replyId }) => reply(replyId, done.then(() => undefined, (error: unknown) => {
      if (error instanceof RollBack) return undefined;
      throw error;
    })));
  };

  port.on('message', (call: WorkerCall) => {
    switch (call.op) {
      case 'query':
        reply(call.id, (async () => executor(call.tx).query(call.sql, call.params))());
        break;
      case 'exec':
        reply(call.id, (async () => { await executor(call.tx).exec(call.sql); return undefined; })());
        break;
      case 'begin':
        begin(call.id);
        break;
      case 'end': {
        const open = transactions.get(call.tx);
        if (open) open.end(call.commit, call.id);
        else reply(call.id, Promise.reject(new Error('This transaction has already ended')));
        break;
      }
      case 'scrub':
        reply(call.id, db.scrub(call.tables).then(() => undefined));
        break;
      case 'close':
        void db.close().then(
          () => port.postMessage({ type: 'reply', id: call.id, ok: true, value: undefined } satisfies WorkerReply),
          (error: unknown) => port.postMessage({ type: 'reply', id: call.id, ok: false, error: serializeError(error) } satisfies WorkerReply),
        ); // the main thread then ends this thread
        break;
    }
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

await serve();
