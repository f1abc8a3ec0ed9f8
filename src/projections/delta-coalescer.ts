/**
 * Publishes streamed text at most once per interval: the first piece goes out at once (time to first
 * token matters), later pieces are merged until the interval has passed. Keeps the pub/sub and every
 * subscriber's buffer bounded however fast the provider streams.
 */
export class DeltaCoalescer {
  private pending = '';
  private offset = 0;
  private lastPublished = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly publish: (text: string, offset: number) => void;

  constructor(intervalMs: number, publish: (text: string, offset: number) => void) {
    this.intervalMs = intervalMs;
    this.publish = publish;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.pending += text;
    const wait = this.lastPublished + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait);
  }

  /** Publishes whatever is pending now; call before announcing the end of the reply. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.publish(text, this.offset);
    this.offset += text.length;
    this.lastPublished = Date.now();
  }
}
