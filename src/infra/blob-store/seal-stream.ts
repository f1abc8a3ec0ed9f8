import { BlobSealer, type SubjectKeys } from './blob-cipher.ts';
import { BlobTooLargeError } from './errors.ts';
import type { PutOptions, StoredBlob } from './port.ts';
import { checkMaxBytes } from './references.ts';

/** Where one put writes its sealed bytes; nothing becomes visible before `commit`. */
export interface SealedSink {
  write(segment: Buffer): Promise<void>;
  /** Makes the blob visible under its hash, unless the owner already has it (then keeps that one). */
  commit(header: Buffer, blob: StoredBlob): Promise<void>;
  /** Drops everything written; must not throw. */
  discard(): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The put was aborted', 'AbortError');
}

/**
 * The source's chunks, stopping at once when `signal` aborts, even while the source is waiting for
 * bytes that never come. A source that ends early is closed (`return`), which destroys a Readable.
 */
async function* chunksOf(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  let onAbort: (() => void) | undefined;
  const aborted = signal && new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted?.catch(() => {});
  try {
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const next = aborted ? await Promise.race([iterator.next(), aborted]) : await iterator.next();
      if (next.done) {
        done = true;
        return;
      }
      if (!(next.value instanceof Uint8Array)) throw new TypeError('A blob source must yield Uint8Array chunks');
      yield next.value;
    }
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (!done) {
      // Not awaited: a source stuck in next() would keep us waiting on its return() too.
      Promise.resolve().then(() => iterator.return?.()).catch(() => {});
    }
  }
}

/** Encrypts `source` into the sink that `openSink` returns, enforcing the size limit and the signal. */
export async function sealStream(
  keys: SubjectKeys, ownerId: string, source: AsyncIterable<Uint8Array>, options: PutOptions,
  openSink: (headerBytes: number) => Promise<SealedSink>,
): Promise<StoredBlob> {
  const maxBytes = checkMaxBytes(options?.maxBytes);
  options.signal?.throwIfAborted();
  const sealer = await BlobSealer.start(keys, ownerId);
  const sink = await openSink(sealer.headerBytes);
  try {
    for await (const chunk of chunksOf(source, options.signal)) {
      if (sealer.plaintextBytes + chunk.length > maxBytes) throw new BlobTooLargeError(maxBytes);
      for (const segment of sealer.push(chunk)) await sink.write(segment);
    }
    options.signal?.throwIfAborted();
    const { finalSegment, header, blob } = sealer.finish();
    await sink.write(finalSegment);
    await sink.commit(header, blob);
    return blob;
  } catch (error) {
    await sink.discard();
    throw error;
  }
}
