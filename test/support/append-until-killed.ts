// Child process for the kill -9 test: appends 3-event batches from 4 concurrent writers forever and
// prints one line per acknowledged append. Usage: node append-until-killed.ts sqlite <file> | postgres <url>
import { PostgresEventStore } from '../../src/infra/event-store/postgres-event-store.ts';
import { SqliteEventStore } from '../../src/infra/event-store/sqlite-event-store.ts';
import type { EventStore } from '../../src/infra/event-store/port.ts';
import { newEvent } from './events.ts';

const [kind, target] = process.argv.slice(2);
const store: EventStore = kind === 'postgres'
  ? await PostgresEventStore.open({ connectionString: target! })
  : new SqliteEventStore(target!);

process.stdout.write('ready\n');
await Promise.all(Array.from({ length: 4 }, async (_, writer) => {
  for (let batch = 0; ; batch++) {
    const stream = `killed-${writer}`;
    const events = [0, 1, 2].map((part) => newEvent('Chunk', { writer, batch, part, pad: 'p'.repeat(200) }));
    const result = await store.append(stream, events, { expectedRevision: batch === 0 ? 'no_stream' : BigInt(batch * 3 - 1) });
    process.stdout.write(`ack ${stream} ${result.nextRevision}\n`);
  }
}));
