import { mapSubscription } from './map-subscription.ts';
import type {
  AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent, SubscribeOptions, Subscription,
} from './port.ts';

/** An event that could not be brought to its current schema version; `event` is the stored one. */
export class EventUpcastError extends Error {
  readonly event: RecordedEvent;
  constructor(event: RecordedEvent, cause: unknown) {
    super(`Event ${event.id} (${event.type} v${event.schemaVersion}) at position ${event.position}: ${(cause as Error)?.message ?? String(cause)}`,
      { cause });
    this.name = 'EventUpcastError';
    this.event = event;
  }
}

/**
 * Upcasts on every way out (readStream, readAll, subscriptions), so nothing above the store ever
 * sees an old schema version; appends pass through. Wraps the decrypting store, so upcasters see
 * plaintext fields under the names they were stored with.
 */
export class UpcastingEventStore implements EventStore {
  private readonly inner: EventStore;
  private readonly upcast: (event: RecordedEvent) => RecordedEvent;

  constructor(inner: EventStore, upcast: (event: RecordedEvent) => RecordedEvent) {
    this.inner = inner;
    this.upcast = (event) => {
      try {
        return upcast(event);
      } catch (error) {
        throw new EventUpcastError(event, error);
      }
    };
  }

  get kind(): string {
    return this.inner.kind;
  }

  append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    return this.inner.append(stream, events, options);
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readStream(stream, options)).map(this.upcast);
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return (await this.inner.readAll(options)).map(this.upcast);
  }

  subscribeToAll(options?: SubscribeOptions): Subscription {
    return mapSubscription(this.inner.subscribeToAll(options), this.upcast);
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
