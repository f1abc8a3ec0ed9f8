// Child process for the blob-store kill -9 test: stores three whole blobs (printing "stored <sha256>"
// for each once put resolves), then starts a put that never ends and prints "midway" once it has
// streamed 2 MB. Usage: node put-blobs-until-killed.ts local <dir> | postgres <url>, then <key file> <master key hex>
import { randomBytes } from 'node:crypto';
import { LocalBlobStore } from '../../src/infra/blob-store/local-blob-store.ts';
import type { BlobStore } from '../../src/infra/blob-store/port.ts';
import { PostgresBlobStore } from '../../src/infra/blob-store/postgres-blob-store.ts';
import { PersonalDataCodec } from '../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../src/infra/personal-data/sqlite-key-store.ts';

const [kind, target, keyFile, masterKeyHex] = process.argv.slice(2);
const keyStore = new SqliteKeyStore(keyFile!);
const keys = new PersonalDataCodec({ keyStore, masterKey: Buffer.from(masterKeyHex!, 'hex'), rules: {} });
const store: BlobStore = kind === 'postgres'
  ? await PostgresBlobStore.open({ connectionString: target!, keys })
  : await LocalBlobStore.open({ dir: target!, keys });

for (let i = 0; i < 3; i++) {
  async function* bytes() { yield randomBytes(100_000 + i); }
  const blob = await store.put('user-killed', bytes(), { maxBytes: 1 << 30 });
  process.stdout.write(`stored ${blob.sha256}\n`);
}

async function* endless() {
  for (let sent = 0; ; sent += 64 * 1024) {
    if (sent === 2 * 1024 * 1024) process.stdout.write('midway\n');
    yield randomBytes(64 * 1024);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
await store.put('user-killed', endless(), { maxBytes: 1 << 30 });
