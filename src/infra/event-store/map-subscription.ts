import type { RecordedEvent, Subscription } from './port.ts';

/** A subscription that yields `map(event)` for every event of `inner`, for the store decorators. */
export function mapSubscription(inner: Subscription, map: (event: RecordedEvent) => RecordedEvent | Promise<RecordedEvent>): Subscription {
  async function* mapped(): AsyncGenerator<RecordedEvent> {
    try {
      for await (const event of inner) yield await map(event);
    } finally {
      await inner.close();
    }
  }
  const iterator = mapped();
  return {
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      await inner.close(); // ends a pending wait in the inner subscription, so our return() can run
      await iterator.return(undefined);
    },
  };
}
