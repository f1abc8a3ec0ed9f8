import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.ts';
import { ChainConflictError, type ChainLink } from './chain-store.ts';
import type { BatchSealer, SealStep } from './seal-batch.ts';
import type { SealReply, SealRequest, SealWorkerTarget } from './seal-worker.ts';

const WORKER_URL = new URL('./seal-worker.ts', import.meta.url);

interface Pending { resolve: (step: SealStep) => void; reject: (error: Error) => void }

/**
 * Seals in a worker thread with its own connections to the log and the chain (seal-worker.ts): the
 * writers' thread never reads, canonicalises or hashes an event for the chain. The worker starts with
 * the first step, and again after it died (the step in flight fails; the sealer's loop backs off and
 * retries from the stored head, so nothing is lost or linked twice).
 */
export class SealerThread implements BatchSealer {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private readonly target: SealWorkerTarget;
  private readonly logger: Logger | undefined;

  constructor(target: SealWorkerTarget, logger?: Logger) {
    this.target = target;
    this.logger = logger;
  }

  sealNext(head: ChainLink, batchSize: number): Promise<SealStep> {
    if (this.closed) return Promise.reject(new Error('The sealer thread is closed'));
    const worker = this.worker ?? this.startWorker();
    const id = this.nextId++;
    return new Promise<SealStep>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: SealRequest = { id, head: { seq: head.seq, position: head.position.toString(), hash: head.hash }, batchSize };
      worker.postMessage(request);
    });
  }

  private startWorker(): Worker {
    const worker = new Worker(WORKER_URL, { workerData: this.target, stdout: true, stderr: true });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.on('message', (reply: SealReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (reply.ok) {
        pending.resolve({ head: { seq: reply.head.seq, position: BigInt(reply.head.position), hash: reply.head.hash }, count: reply.count });
      } else {
        const error = reply.conflict ? new ChainConflictError(reply.message) : Object.assign(new Error(reply.message), { name: reply.name });
        pending.reject(error);
      }
    });
    const failAll = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => {
      this.logger?.warn({ err: error }, 'chain sealer thread failed');
      failAll(new Error(`The chain sealer thread failed: ${error.message}`));
    });
    worker.on('exit', () => failAll(new Error('The chain sealer thread stopped')));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    const timer = setTimeout(() => void worker.terminate(), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
