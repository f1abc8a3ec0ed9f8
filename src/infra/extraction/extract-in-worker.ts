import { Worker } from 'node:worker_threads';
import { ExtractionFailedError, isExtractionFailureReason, type ExtractedDocument, type ExtractionLimits, type ExtractionProgress } from './types.ts';
import type { ExtractionJob, WorkerMessage } from './worker.ts';

/**
 * Text extraction in a worker thread, one fresh worker per job: a hostile file can exhaust only its
 * own heap (resourceLimits) and its own time (terminated at timeoutMs or on abort), and no state of
 * one document (parsers, OCR engine, caches) survives into the next. A start costs tens of
 * milliseconds, small beside parsing and OCR; the caller bounds how many run at once.
 */

const WORKER_URL = new URL('./worker.ts', import.meta.url);
/**
 * Below a few MB V8 cannot even deserialise the worker's start-up snapshot, and that out-of-memory is
 * fatal to the whole process (seen at 2 MB); from 8 MB on it is a clean worker error. Keep a margin.
 */
export const MIN_WORKER_MEMORY_MB = 16;

export interface ExtractDocumentOptions {
  onProgress?: (progress: ExtractionProgress) => void;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The extraction was aborted.', 'AbortError');
}

export function extractDocument(
  bytes: Uint8Array,
  declaredMediaType: string,
  fileName: string,
  limits: ExtractionLimits,
  signal?: AbortSignal,
  options: ExtractDocumentOptions = {},
): Promise<ExtractedDocument> {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      return Promise.reject(new RangeError(`extraction limit ${name} must be a positive number`));
    }
  }
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<ExtractedDocument>((resolve, reject) => {
    // A view into a larger buffer would be cloned whole: hand the worker just these bytes.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    const job: ExtractionJob = { bytes: own, declaredMediaType, fileName, limits };
    const memoryMb = Math.max(MIN_WORKER_MEMORY_MB, Math.floor(limits.maxMemoryMb));
    const worker = new Worker(WORKER_URL, {
      workerData: job,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(memoryMb / 8))),
        stackSizeMb: 4,
      },
      stdout: true,
      stderr: true,
    });
    // Libraries inside may print warnings that quote the document: never pass them to the process's logs.
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      outcome();
    };
    const fail = (reason: ExtractionFailedError['reason'], message: string) => finish(() => reject(new ExtractionFailedError(reason, message)));
    const timer = setTimeout(() => fail('timeout', `Extraction took longer than ${limits.timeoutMs} ms and was stopped.`), limits.timeoutMs);
    const onAbort = () => finish(() => reject(abortError(signal!)));
    signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') {
        if (!settled) options.onProgress?.({ pagesDone: message.pagesDone, pagesTotal: message.pagesTotal });
      } else if (message.type === 'done') {
        finish(() => resolve(message.document));
      } else {
        const reason = isExtractionFailureReason(message.reason) ? message.reason : 'malformed';
        fail(reason, message.message);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        fail('out-of-memory', `Extraction needed more than ${memoryMb} MB of memory and was stopped.`);
      } else {
        fail('malformed', `The file could not be read (${error.name}).`);
      }
    });
    worker.on('exit', () => fail('malformed', 'The extraction stopped without a result.'));
  });
}
