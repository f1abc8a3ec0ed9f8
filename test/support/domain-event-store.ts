import { randomBytes } from 'node:crypto';
import type { CommandContext } from '../../src/commands/context.ts';
import { domainUpcasting } from '../../src/domain/event-versions.ts';
import { personalDataRules } from '../../src/domain/personal-data.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import { UpcastingEventStore } from '../../src/infra/event-store/upcasting-event-store.ts';
import { uuidv7 } from '../../src/infra/ids.ts';
import { PersonalDataCodec } from '../../src/infra/personal-data/codec.ts';
import { EncryptingEventStore } from '../../src/infra/personal-data/encrypting-event-store.ts';
import { SqliteKeyStore } from '../../src/infra/personal-data/sqlite-key-store.ts';

/**
 * The event store as the app builds it (src/app.ts), on in-memory SQLite: personal fields encrypted
 * with the domain's rules, events upcast with the domain's upcasters. `log` is the raw store beneath.
 */
export function domainEventStore() {
  const log = new SqliteEventStore(':memory:');
  const keyStore = new SqliteKeyStore(':memory:');
  const codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: personalDataRules });
  const store: EventStore = new UpcastingEventStore(new EncryptingEventStore(log, codec), (event) => domainUpcasting.upcast(event));
  return {
    store,
    log,
    codec,
    async close() {
      await store.close();
      await keyStore.close();
    },
  };
}

export function commandContext(actorId: string | null = 'tester'): CommandContext {
  return { actorId, correlationId: uuidv7(), causationId: null, requestId: null, now: () => new Date('2026-01-02T03:04:05Z'), newId: uuidv7 };
}
