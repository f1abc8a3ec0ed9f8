// The embedded read database's own thread (pglite-thread-read-db.ts): PGlite runs its WebAssembly
// synchronously, so on the server's thread every statement held up requests, provider streams and
// the log's commits. Here it runs beside them; the server's thread only sends statements and waits.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PgliteReadDb, type PgliteReadDbOptions } from './pglite-read-db.ts';
import { toWireError, type ThreadReply, type ThreadRequest } from './pglite-thread-protocol.ts';
import type { QueryResult, SqlExecutor } from './port.ts';

interface OpenTransaction {
  tx: SqlExecutor;
  end(commit: boolean): void;
  done: Promise<void>;
}

/** Ends the transaction callback when the server's thread asks for a rollback. */
class RollbackRequested extends Error {}

const port = parentPort!;
/**
 * How long the thread waits, awake, for a transaction's next statement after answering one. Waking a
 * sleeping thread took about 70 µs here (a 2-core VM), more than most statements of a projection's
 * transaction, which hold PGlite's only connection until they commit.
 */
const NEXT_STATEMENT_SPIN_MS = 0.2;
/** By the id of the request that began them; a transaction is here from its begin to its commit or rollback. */
const transactions = new Map<number, Promise<OpenTransaction>>();

function reply(message: ThreadReply): void {
  try {
    port.postMessage(message);
  } catch (error) {
    // A value structured clone cannot copy: the statement still fails on its caller's side.
    port.postMessage({ id: message.id, ok: false, error: toWireError(error) } satisfies ThreadReply);
  }
}

async function openTransaction(id: number): Promise<OpenTransaction> {
  const open = transactions.get(id);
  if (!open) throw new Error('Transaction is closed');
  return await open;
}

/**
 * Starts a transaction (once PGlite's transaction mutex is ours) that lives until commit or rollback.
 * Its statements may arrive before it has started: they wait for it.
 */
function begin(db: PgliteReadDb, id: number): Promise<OpenTransaction> {
  const started = new Promise<OpenTransaction>((resolve, failed) => {
    let end!: (commit: boolean) => void;
    const finished = new Promise<void>((done, rollback) => {
      end = (commit) => (commit ? done() : rollback(new RollbackRequested()));
    });
    const holder: { done?: Promise<void> } = {};
    holder.done = db.transaction(async (tx) => {
      resolve({ tx, end, done: holder.done! });
      await finished;
    });
    holder.done.catch(failed); // a failure after the start is the commit's or rollback's to report
  });
  transactions.set(id, started);
  return started;
}

async function run(db: PgliteReadDb, request: ThreadRequest): Promise<QueryResult<unknown> | undefined> {
  switch (request.op) {
    case 'query':
      return request.tx === null ? db.query(request.sql, request.params) : (await openTransaction(request.tx)).tx.query(request.sql, request.params);
    case 'exec':
      await (request.tx === null ? db.exec(request.sql) : (await openTransaction(request.tx)).tx.exec(request.sql));
      return undefined;
    case 'begin':
      await begin(db, request.id);
      return undefined;
    case 'commit': {
      const open = openTransaction(request.tx);
      transactions.delete(request.tx);
      const { end, done } = await open;
      end(true);
      await done;
      return undefined;
    }
    case 'rollback': {
      const open = openTransaction(request.tx);
      transactions.delete(request.tx);
      const { end, done } = await open;
      end(false);
      await done.catch((error: unknown) => {
        if (!(error instanceof RollbackRequested)) throw error;
      });
      return undefined;
    }
    case 'scrub':
      await db.scrub(request.tables);
      return undefined;
    case 'close':
      for (const [id, starting] of transactions) {
        transactions.delete(id);
        const open = await starting.catch(() => null);
        open?.end(false);
        await open?.done.catch(() => {});
      }
      await db.close();
      return undefined;
  }
}

function inTransaction(request: ThreadRequest): boolean {
  const tx = request.op === 'begin' ? request.id : 'tx' in request ? request.tx : null;
  return tx !== null && transactions.has(tx);
}

/** Polls for the next message for a short while instead of sleeping until it comes. */
function awaitNextStatement(dispatch: (request: ThreadRequest) => void): void {
  const until = performance.now() + NEXT_STATEMENT_SPIN_MS;
  do {
    const next = receiveMessageOnPort(port);
    if (next) return dispatch(next.message as ThreadRequest);
  } while (performance.now() < until);
}

async function main(): Promise<void> {
  let db: PgliteReadDb;
  try {
    db = await PgliteReadDb.open(workerData as PgliteReadDbOptions);
  } catch (error) {
    reply({ id: 0, ok: false, error: toWireError(error) });
    port.close();
    return;
  }
  const dispatch = (request: ThreadRequest): void => {
    run(db, request).then(
      (result) => {
        reply(result === undefined ? { id: request.id, ok: true } : { id: request.id, ok: true, result });
        if (inTransaction(request)) awaitNextStatement(dispatch);
      },
      (error: unknown) => reply({ id: request.id, ok: false, error: toWireError(error) }),
    ).finally(() => {
      if (request.op === 'close') port.close();
    });
  };
  port.on('message', dispatch);
  reply({ id: 0, ok: true });
}

await main();
