import type { ReadAllOptions, RecordedEvent } from './port.ts';

/** Batches kept; the least recently used goes first. Every projection reads the same ones, close together. */
const MAX_BATCHES = 8;
/** And at most this many characters of event data and metadata in all of them. */
const MAX_CHARS = 16 * 1024 * 1024;

interface Batch {
  events: readonly RecordedEvent[];
  chars: number;
}

/**
 * Recent full `readAll` pages of a log whose positions are gap-free and only ever appended to
 * (SQLite: one writer, positions given at commit), shared by the readers that ask for the same page.
 * On a start with a log to catch up, every projection and reactor reads the whole log in the same
 * pages at nearly the same time; each read and parsed its own copy (docs/benchmarks.md). A full page
 * (as many events as asked for) can never change, so it is right to share; a shorter one (the end of
 * the log) is not kept, as appends may still extend it. Events are shared as they are: nothing above
 * the store changes a recorded event (decoding and upcasting make new ones). Writes from outside the
 * store (another process, or tampering that audit verification must catch) are the store's to notice:
 * it clears the cache when the file changed under it.
 */
export class FullBatchCache {
  private readonly batches = new Map<string, Batch>();
  private chars = 0;

  static key(options: ReadAllOptions, maxCount: number): string {
    const types = options.filter?.eventTypes?.join('\u0000') ?? '';
    return `${options.after ?? 0n}|${maxCount}|${types}|${options.filter?.streamPrefix ?? ''}`;
  }

  clear(): void {
    this.batches.clear();
    this.chars = 0;
  }

  /** A copy of the cached page's array (its events shared), or undefined. */
  get(key: string): RecordedEvent[] | undefined {
    const batch = this.batches.get(key);
    if (!batch) return undefined;
    this.batches.delete(key);
    this.batches.set(key, batch);
    return [...batch.events];
  }

  /** Keeps `events` if they fill the page; `chars` is the size of their stored text. */
  offer(key: string, events: readonly RecordedEvent[], maxCount: number, chars: number): void {
    if (events.length < maxCount || chars > MAX_CHARS / 2) return;
    const old = this.batches.get(key);
    if (old) {
      this.batches.delete(key);
      this.chars -= old.chars;
    }
    this.batches.set(key, { events, chars });
    this.chars += chars;
    while (this.batches.size > MAX_BATCHES || this.chars > MAX_CHARS) {
      const [oldest, batch] = this.batches.entries().next().value!;
      this.batches.delete(oldest);
      this.chars -= batch.chars;
    }
  }
}
