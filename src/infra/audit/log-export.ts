import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import type { EventStore, RecordedEvent } from '../event-store/port.ts';
import type { KeyStore } from '../personal-data/key-store.ts';
import { chainHash, GENESIS_HASH } from './chain-hash.ts';
import type { ChainLink, ChainStore, SignedCheckpoint } from './chain-store.ts';

export const EXPORT_FORMAT_VERSION = 1;
export const EVENTS_FILE = 'events.ndjson';
export const CHECKPOINTS_FILE = 'checkpoints.ndjson';
export const MANIFEST_FILE = 'manifest.json';
export const KEYS_FILE = 'keys.ndjson';

export interface ExportManifest {
  formatVersion: 1;
  createdAt: string;
  /** The adapter the log was exported from (sqlite, postgres). */
  sourceKind: string;
  eventCount: number;
  streamCount: number;
  /** Positions in the source store (decimal strings), null for an empty log. */
  firstPosition: string | null;
  lastPosition: string | null;
  /** The chain over the exported events: headSeq = eventCount, headHash its hash (64 hex digits). */
  headSeq: number;
  headHash: string;
  /** sha256 of events.ndjson as written, hex. */
  eventsSha256: string;
  checkpointCount: number;
  checkpointsSha256: string;
}

/** One line of events.ndjson: the raw stored event, bigints as decimal strings. */
export interface ExportedEvent {
  position: string;
  id: string;
  stream: string;
  revision: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
}

/** One line of checkpoints.ndjson; position is the source store's. */
export interface ExportedCheckpoint {
  seq: number;
  position: string;
  hash: string;
  signature: string;
  keyId: string;
  signedAt: string;
}

/** The log disagrees with its own chain: exporting it would launder the change into a fresh chain. */
export class ExportIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportIntegrityError';
  }
}

export function toExportedEvent(event: RecordedEvent): ExportedEvent {
  return {
    position: event.position.toString(), id: event.id, stream: event.stream, revision: event.revision.toString(),
    type: event.type, schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata,
  };
}

/** Writes lines to a file with back-pressure, hashing what it writes. */
class HashedWriter {
  private readonly out: WriteStream;
  private readonly hash = createHash('sha256');
  constructor(path: string) {
    this.out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  }
  async line(value: unknown): Promise<void> {
    const text = `${JSON.stringify(value)}\n`;
    this.hash.update(text);
    if (!this.out.write(text)) await once(this.out, 'drain');
  }
  async close(): Promise<string> {
    this.out.end();
    await once(this.out, 'finish');
    return this.hash.digest('hex');
  }
  destroy(): void {
    this.out.destroy();
  }
}

async function emptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const present = await readdir(dir);
  if (present.length > 0) throw new Error(`Export directory ${dir} is not empty`);
}

/**
 * Writes a complete, verifiable copy of the raw log (ARCHITECTURE.md §11): events.ndjson (every event
 * up to the head at the start, as stored: ciphertext of personal fields), checkpoints.ndjson (the
 * signed checkpoints they cover) and manifest.json (written last). The chain is recomputed on the way
 * and compared with the stored links and checkpoints; a disagreement stops the export. Key material
 * is not part of it: see exportKeys.
 */
export async function exportLog(opts: { log: EventStore; chain: ChainStore; dir: string; batchSize?: number }): Promise<ExportManifest> {
  const { log, chain, dir } = opts;
  const batchSize = opts.batchSize ?? 1_000;
  await emptyDir(dir);
  const createdAt = new Date().toISOString();
  const head = await log.headPosition();
  const checkpoints = (await chain.checkpoints());
  const events = new HashedWriter(join(dir, EVENTS_FILE));
  const streams = new Set<string>();
  let hash: Buffer = GENESIS_HASH;
  let seq = 0;
  let first: bigint | null = null;
  let last: bigint | null = null;
  let links: ChainLink[] = [];
  let linkIndex = 0;
  let checkpointIndex = 0;
  const covered: SignedCheckpoint[] = [];
  try {
    let after = 0n;
    while (after < head) {
      const page = await log.readAll({ after, maxCount: batchSize });
      if (page.length === 0) break;
      for (const event of page) {
        if (event.position > head) break;
        seq++;
        hash = chainHash(hash, event);
        const hex = hash.toString('hex');
        if (linkIndex >= links.length) {
          links = await chain.links(seq - 1, batchSize);
          linkIndex = 0;
        }
        const link = links[linkIndex];
        if (link) {
          if (link.seq !== seq || link.position !== event.position || link.hash !== hex) {
            throw new ExportIntegrityError(`The log differs from its chain at seq ${seq} (position ${event.position}): run verify; nothing was exported`);
          }
          linkIndex++;
        }
        for (; checkpoints[checkpointIndex] && checkpoints[checkpointIndex]!.seq <= seq; checkpointIndex++) {
          const checkpoint = checkpoints[checkpointIndex]!;
          if (checkpoint.seq !== seq || checkpoint.hash !== hex) {
            throw new ExportIntegrityError(`The log differs from the checkpoint signed at seq ${checkpoint.seq}: run verify; nothing was exported`);
          }
          covered.push(checkpoint);
        }
        streams.add(event.stream);
        first ??= event.position;
        last = event.position;
        await events.line(toExportedEvent(event));
      }
      after = page[page.length - 1]!.position;
    }
  } catch (error) {
    events.destroy();
    throw error;
  }
  const eventsSha256 = await events.close();
  const checkpointFile = new HashedWriter(join(dir, CHECKPOINTS_FILE));
  for (const c of covered) {
    await checkpointFile.line({ seq: c.seq, position: c.position.toString(), hash: c.hash, signature: c.signature, keyId: c.keyId, signedAt: c.signedAt } satisfies ExportedCheckpoint);
  }
  const checkpointsSha256 = await checkpointFile.close();
  const manifest: ExportManifest = {
    formatVersion: EXPORT_FORMAT_VERSION, createdAt, sourceKind: log.kind, eventCount: seq, streamCount: streams.size,
    firstPosition: first?.toString() ?? null, lastPosition: last?.toString() ?? null,
    headSeq: seq, headHash: hash.toString('hex'), eventsSha256, checkpointCount: covered.length, checkpointsSha256,
  };
  // Written last and renamed into place: a directory without manifest.json is an unfinished export.
  await writeFile(join(dir, `${MANIFEST_FILE}.tmp`), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await rename(join(dir, `${MANIFEST_FILE}.tmp`), join(dir, MANIFEST_FILE));
  return manifest;
}

/** One line of keys.ndjson. */
export type ExportedKey =
  | { kind: 'key'; subjectId: string; wrapped: string; createdAt: string }
  | { kind: 'erased'; subjectId: string; erasedAt: string };

/**
 * Writes `dir/keys.ndjson`: every subject's data key, still wrapped by the master key (useless
 * without it), and every erasure tombstone, so an import cannot bring an erased person back. Never
 * part of exportLog: whoever holds this file and the master key can read the personal data.
 */
export async function exportKeys(opts: { keyStore: KeyStore; dir: string }): Promise<{ keys: number; erased: number; sha256: string }> {
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const out = new HashedWriter(join(opts.dir, KEYS_FILE));
  let keys = 0;
  let erased = 0;
  try {
    for await (const record of opts.keyStore.list()) {
      if (record.kind === 'key') {
        keys++;
        await out.line({ kind: 'key', subjectId: record.subjectId, wrapped: record.wrapped.toString('base64'), createdAt: record.createdAt } satisfies ExportedKey);
      } else {
        erased++;
        await out.line({ kind: 'erased', subjectId: record.subjectId, erasedAt: record.erasedAt } satisfies ExportedKey);
      }
    }
  } catch (error) {
    out.destroy();
    throw error;
  }
  return { keys, erased, sha256: await out.close() };
}
