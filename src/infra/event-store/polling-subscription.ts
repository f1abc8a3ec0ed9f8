import type { Wakeup } from '../wakeup.ts';
import type { ReadAllOptions, RecordedEvent, SubscribeOptions, Subscription } from './port.ts';

const HELD_BACK_RETRY_MS = 5;

/**
 * Catch-up then live, built on readAll: it always reads by position from the last one it delivered,
 * so the seam between catch-up and live can neither skip nor repeat an event. Wake-ups only shorten
 * the wait; correctness never depends on them.
 */
export function pollingSubscription(
  readAll: (options: ReadAllOptions) => Promise<RecordedEvent[]>,
  wake: Wakeup,
  options: SubscribeOptions,
  idlePollMs: number,
  /**
   * The log's head, for stores whose positions become visible in order (SQLite). A filtered read that
   * comes back short has then seen every event up to the head taken before it, matching or not, so
   * the next read starts there: otherwise each poll scanned again everything since the last match
   * (for the session watch, since the last logout), a growing scan every 250 ms of an idle server.
   */
  headPosition?: () => Promise<bigint>,
  /**
   * True when committed events after `after` exist, readable or not. Asked after a short read: on
   * PostgreSQL a read only returns rows of transactions older than every transaction still open, and
   * any transaction in the database counts (a read-model write among them), so a read can come back
   * short with committed events ahead whose append's wake-up has come and gone. The next read is then
   * soon, backing off from HELD_BACK_RETRY_MS to `idlePollMs`, not a whole poll away.
   */
  committedAhead?: (after: bigint) => Promise<boolean>,
): Subscription {
  const controller = new AbortController();
  const batchSize = options.batchSize ?? 500;
  let position = options.after ?? 0n;
  let retryMs = HELD_BACK_RETRY_MS;

  async function* run(): AsyncGenerator<RecordedEvent> {
    while (!controller.signal.aborted) {
      // Registered before the read: an append that fires while the read is on its way (a round trip
      // to PostgreSQL) is past the read's snapshot, and would otherwise wait for the next poll.
      const woken = wake.wait(idlePollMs, controller.signal);
      try {
        const head = options.filter && headPosition ? await headPosition() : undefined;
        const batch = await readAll({ after: position, maxCount: batchSize, filter: options.filter });
        for (const event of batch) {
          if (controller.signal.aborted) return;
          position = event.position;
          yield event;
        }
        if (batch.length > 0) retryMs = HELD_BACK_RETRY_MS;
        if (batch.length < batchSize) {
          if (head !== undefined && head > position) position = head;
          if (committedAhead && await committedAhead(position)) {
            const soon = setTimeout(woken.cancel, retryMs);
            retryMs = Math.min(retryMs * 2, idlePollMs);
            await woken.promise;
            clearTimeout(soon);
          } else {
            retryMs = HELD_BACK_RETRY_MS;
            await woken.promise;
          }
        }
      } finally {
        woken.cancel();
      }
    }
  }

  const iterator = run();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      controller.abort();
      await iterator.return(undefined);
    },
  };
}
