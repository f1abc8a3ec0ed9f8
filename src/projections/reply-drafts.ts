import type { Logger } from 'pino';
import type { ReadDb } from '../infra/read-db/port.ts';

/** How far behind the stream a reply's stored text may be: a crash loses at most this much of it. */
export const DRAFT_INTERVAL_MS = 1000;

/**
 * Keeps the text of replies being generated durable while they stream, without an event per token:
 * at most once per interval, one statement writes every changed draft into the reply's messages row
 * (only while that row is still `streaming`, so a finished reply is never overwritten). After a
 * kill -9, the next lease holder records the reply as interrupted with this text.
 */
export class ReplyDrafts {
  private readonly db: ReadDb;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly dirty = new Map<string, string>();
  /** Last text given per reply, so a failed write can be retried with it. */
  private readonly latest = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(db: ReadDb, logger: Logger, intervalMs = DRAFT_INTERVAL_MS) {
    this.db = db;
    this.logger = logger;
    this.intervalMs = intervalMs;
  }

  update(replyId: string, text: string): void {
    this.dirty.set(replyId, text);
    this.latest.set(replyId, text);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Drops a pending draft (the reply is being recorded as finished). */
  forget(replyId: string): void {
    this.dirty.delete(replyId);
    this.latest.delete(replyId);
  }

  /** Writes what is pending now; resolves once every earlier write has finished too. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty.size > 0) {
      const ids = [...this.dirty.keys()];
      const texts = [...this.dirty.values()];
      this.dirty.clear();
      this.writing = this.writing.then(() => this.db.query(
        `UPDATE messages SET content = d.text
           FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS text) d
          WHERE messages.message_id = d.id AND messages.status = 'streaming'`,
        [ids, texts],
      )).then(() => {}, (err: unknown) => {
        this.logger.warn({ err }, 'could not store reply drafts; retrying with the next write');
        for (const id of ids) {
          const text = this.latest.get(id);
          if (text !== undefined && !this.dirty.has(id)) this.dirty.set(id, text);
        }
        if (this.dirty.size > 0) this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
      });
    }
    return this.writing;
  }
}
