import { parentPort, workerData } from 'node:worker_threads';
import { extractInThisThread } from './extract.ts';
import { ExtractionFailedError, type ExtractionLimits } from './types.ts';

/** The extraction worker: one job per thread, given in workerData; answers with one message. */

export interface ExtractionJob {
  bytes: Uint8Array;
  declaredMediaType: string;
  fileName: string;
  limits: ExtractionLimits;
}

export type WorkerMessage =
  | { type: 'progress'; pagesDone: number; pagesTotal: number }
  | { type: 'done'; document: Awaited<ReturnType<typeof extractInThisThread>> }
  | { type: 'failed'; reason: ExtractionFailedError['reason']; message: string };

const job = workerData as ExtractionJob;
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

try {
  const document = await extractInThisThread(job.bytes, job.declaredMediaType, job.fileName, job.limits,
    (progress) => post({ type: 'progress', ...progress }));
  post({ type: 'done', document });
} catch (error) {
  if (error instanceof ExtractionFailedError) {
    post({ type: 'failed', reason: error.reason, message: error.message });
  } else {
    // The library's own message may quote the document; say only what kind of failure it was.
    post({ type: 'failed', reason: 'malformed', message: `The file could not be read (${(error as Error)?.name ?? 'error'}).` });
  }
}
