import { mapSubscription } from '../event-store/map-subscription.ts';
import type {
  AppendOptions, AppendResult, EventStore, NewEvent, ReadAllOptions, ReadStreamOptions, RecordedEvent,
  SubscribeOptions, Subscription,
} from '../event-store/port.ts';
import type { PersonalDataCodec } from './codec.ts';

/**
 * Puts the personal-data codec into the envelope: events are encoded on their way into any event
 * store and decoded on every way out, so neither domain code nor projections ever see ciphertext,
 * and the log never sees plaintext. `close` closes the inner store only; the key store belongs to
 * whoever created it.
 */
export class EncryptingEventStore implements EventStore {
  private readonly inner: EventStore;
  private readonly codec: PersonalDataCodec;

  constructor(inner: EventStore, codec: PersonalDataCodec) {
    this.inner = inner;
    this.codec = codec;
  }

  get kind(): string {
    return this.inner.kind;
  }

  async append(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult> {
    // A non-array is passed through for the inner store to reject with its usual error.
    const encoded = Array.isArray(events) ? await Promise.all(events.map((event) => this.codec.encode(event))) : events;
    return this.inner.append(stream, encoded, options);
  }

  async readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.decodeAll(await this.inner.readStream(stream, options));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.decodeAll(await this.inner.readAll(options));
  }

  subscribeToAll(options?: SubscribeOptions): Subscription {
    return mapSubscription(this.inner.subscribeToAll(options), (event) => this.codec.decode(event));
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private decodeAll(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    return Promise.all(events.map((event) => this.codec.decode(event)));
  }
}
