import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import type { EventMetadata, EventStore, NewEvent } from '../event-store/port.ts';
import { MAX_EVENTS_PER_APPEND } from '../event-store/port.ts';
import type { KeyStore } from '../personal-data/key-store.ts';
import { chainHash, GENESIS_HASH, type ChainedEvent } from './chain-hash.ts';
import type { ChainLink, ChainStore } from './chain-store.ts';
import {
  CHECKPOINTS_FILE, EVENTS_FILE, EXPORT_FORMAT_VERSION, KEYS_FILE, MANIFEST_FILE, type ExportedCheckpoint, type ExportedEvent,
  type ExportedKey, type ExportManifest,
} from './log-export.ts';

/** The export is incomplete, altered or not an export; nothing was written. */
export class ImportVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportVerificationError';
  }
}

/** The target store already holds events (or chain links): import only fills an empty store. */
export class ImportTargetNotEmptyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportTargetNotEmptyError';
  }
}

/** Appended together while consecutive events share a stream, up to this many bytes of JSON. */
const MAX_RUN_BYTES = 4 * 1024 * 1024;
const READBACK_WAIT_MS = 60_000;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function* lines<T>(path: string): AsyncGenerator<T> {
  const reader = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let number = 0;
  for await (const line of reader) {
    number++;
    if (line.length === 0) continue;
    try {
      yield JSON.parse(line) as T;
    } catch {
      throw new ImportVerificationError(`${path}, line ${number}: not JSON`);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function toChained(line: ExportedEvent, number: number): ChainedEvent {
  const ok = isObject(line) && typeof line.id === 'string' && typeof line.stream === 'string' && typeof line.type === 'string'
    && typeof line.revision === 'string' && /^\d+$/.test(line.revision) && typeof line.position === 'string' && /^\d+$/.test(line.position)
    && Number.isInteger(line.schemaVersion) && isObject(line.data) && isObject(line.metadata);
  if (!ok) throw new ImportVerificationError(`${EVENTS_FILE}, event ${number}: not an exported event`);
  return {
    id: line.id, stream: line.stream, revision: BigInt(line.revision), type: line.type, schemaVersion: line.schemaVersion,
    data: line.data, metadata: line.metadata as unknown as EventMetadata,
  };
}

async function readManifest(dir: string): Promise<ExportManifest> {
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as ExportManifest;
  } catch {
    throw new ImportVerificationError(`${join(dir, MANIFEST_FILE)} is missing or not JSON: not a finished export`);
  }
  if (manifest.formatVersion !== EXPORT_FORMAT_VERSION) {
    throw new ImportVerificationError(`Export format version ${String(manifest.formatVersion)} is not supported (this version reads ${EXPORT_FORMAT_VERSION})`);
  }
  return manifest;
}

/**
 * Checks an export against its manifest without touching any store: file hashes, event count, the
 * recomputed head hash, and each checkpoint's hash at its seq. Returns the checkpoints.
 */
export async function checkExport(dir: string): Promise<{ manifest: ExportManifest; checkpoints: ExportedCheckpoint[] }> {
  const manifest = await readManifest(dir);
  const eventsPath = join(dir, EVENTS_FILE);
  const checkpointsPath = join(dir, CHECKPOINTS_FILE);
  if (await sha256File(eventsPath) !== manifest.eventsSha256) throw new ImportVerificationError(`${EVENTS_FILE} does not match the manifest's sha256`);
  if (await sha256File(checkpointsPath) !== manifest.checkpointsSha256) throw new ImportVerificationError(`${CHECKPOINTS_FILE} does not match the manifest's sha256`);
  const checkpoints: ExportedCheckpoint[] = [];
  for await (const c of lines<ExportedCheckpoint>(checkpointsPath)) checkpoints.push(c);
  if (checkpoints.length !== manifest.checkpointCount) throw new ImportVerificationError(`${CHECKPOINTS_FILE} holds ${checkpoints.length} checkpoints, the manifest says ${manifest.checkpointCount}`);
  let hash: Buffer = GENESIS_HASH;
  let seq = 0;
  let next = 0;
  for await (const line of lines<ExportedEvent>(eventsPath)) {
    seq++;
    hash = chainHash(hash, toChained(line, seq));
    for (; checkpoints[next] && checkpoints[next]!.seq <= seq; next++) {
      if (checkpoints[next]!.seq !== seq || checkpoints[next]!.hash !== hash.toString('hex')) {
        throw new ImportVerificationError(`The checkpoint at seq ${checkpoints[next]!.seq} does not match the exported events`);
      }
    }
  }
  if (seq !== manifest.eventCount) throw new ImportVerificationError(`${EVENTS_FILE} holds ${seq} events, the manifest says ${manifest.eventCount}`);
  if (next !== checkpoints.length) throw new ImportVerificationError(`A checkpoint lies beyond the last exported event`);
  if (hash.toString('hex') !== manifest.headHash || seq !== manifest.headSeq) {
    throw new ImportVerificationError(`The recomputed head hash ${hash.toString('hex')} differs from the manifest's ${manifest.headHash}`);
  }
  return { manifest, checkpoints };
}

/**
 * Imports an export into an empty raw store, any adapter (SQLite → PostgreSQL is how an installation
 * scales out): ids, streams, revisions, types, versions, data and metadata exactly as exported, in
 * the exported order; positions are the target's own. The export is checked completely before the
 * first append; afterwards the target is read back and its recomputed head hash must equal the
 * manifest's. With `chain`, the target's chain is written too and the exported checkpoints carried
 * over (their signatures stay valid: they do not cover positions). A failure part-way through an
 * append leaves a partly filled target: empty it before trying again.
 */
export async function importLog(opts: { dir: string; log: EventStore; chain?: ChainStore }): Promise<{ events: number; headHash: string }> {
  const { dir, log, chain } = opts;
  if ((await log.headPosition()) !== 0n) throw new ImportTargetNotEmptyError('The target event store is not empty: import only fills an empty store');
  if (chain && (await chain.head()).seq !== 0) throw new ImportTargetNotEmptyError('The target chain store is not empty: import only fills an empty store');
  const { manifest, checkpoints } = await checkExport(dir);

  // SqliteEventStore commits appends in the order they were called (one queue, group-committed), so
  // there several may be in flight at once without changing the order; elsewhere one at a time.
  const window = log.kind === 'sqlite' ? 256 : 1;
  const inFlight: Array<Promise<bigint>> = [];
  let run: ChainedEvent[] = [];
  let runBytes = 0;
  let lastPosition = 0n;
  const append = async (events: ChainedEvent[]): Promise<bigint> => {
    const first = events[0]!;
    const last = events[events.length - 1]!;
    const result = await log.append(first.stream, events.map((e): NewEvent => ({ id: e.id, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata })),
      { expectedRevision: first.revision === 0n ? 'no_stream' : first.revision - 1n });
    if (result.nextRevision !== last.revision) {
      throw new ImportVerificationError(`Stream "${first.stream}": revisions in the export are not contiguous (got ${result.nextRevision}, expected ${last.revision})`);
    }
    return result.position;
  };
  const settle = async (keep: number) => {
    while (inFlight.length > keep) lastPosition = await inFlight.shift()!;
  };
  const flush = async () => {
    if (run.length === 0) return;
    const pending = append(run);
    pending.catch(() => {}); // awaited in order by settle(); an early failure must not go unhandled meanwhile
    inFlight.push(pending);
    run = [];
    runBytes = 0;
    await settle(window - 1);
  };
  let number = 0;
  try {
    for await (const line of lines<ExportedEvent>(join(dir, EVENTS_FILE))) {
      const event = toChained(line, ++number);
      const bytes = JSON.stringify(event.data).length;
      if (run.length > 0 && (run[0]!.stream !== event.stream || run.length >= MAX_EVENTS_PER_APPEND || runBytes + bytes > MAX_RUN_BYTES)) await flush();
      run.push(event);
      runBytes += bytes;
    }
    await flush();
  } finally {
    await Promise.allSettled(inFlight);
  }
  await settle(0);

  // PostgreSQL shows rows once every older transaction has finished: wait (bounded) until all of ours show.
  const deadline = Date.now() + READBACK_WAIT_MS;
  while ((await log.headPosition()) < lastPosition) {
    if (Date.now() > deadline) throw new Error('Imported events did not become readable within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const wanted = new Map(checkpoints.map((c) => [c.seq, c]));
  let hash: Buffer = GENESIS_HASH;
  let seq = 0;
  let after = 0n;
  for (;;) {
    const page = await log.readAll({ after, maxCount: 1_000 });
    if (page.length === 0) break;
    const links: ChainLink[] = [];
    for (const event of page) {
      seq++;
      hash = chainHash(hash, event);
      links.push({ seq, position: event.position, hash: hash.toString('hex') });
    }
    if (chain) {
      await chain.appendLinks(links);
      for (const link of links) {
        const c = wanted.get(link.seq);
        if (c) await chain.putCheckpoint({ seq: c.seq, position: link.position, hash: c.hash, signature: c.signature, keyId: c.keyId, signedAt: c.signedAt });
      }
    }
    after = page[page.length - 1]!.position;
  }
  const headHash = hash.toString('hex');
  if (seq !== manifest.eventCount || headHash !== manifest.headHash) {
    throw new ImportVerificationError(`Read back ${seq} events with head hash ${headHash}; the export has ${manifest.eventCount} with ${manifest.headHash}`);
  }
  return { events: seq, headHash };
}

/**
 * Restores `dir/keys.ndjson` (written by exportKeys) into a key store: keys stay wrapped, so the
 * target needs the same master key; tombstones are restored too, and win over any key.
 */
export async function importKeys(opts: { keyStore: KeyStore; dir: string }): Promise<{ keys: number; erased: number }> {
  let keys = 0;
  let erased = 0;
  let number = 0;
  for await (const line of lines<ExportedKey>(join(opts.dir, KEYS_FILE))) {
    number++;
    if (!isObject(line) || typeof line.subjectId !== 'string') throw new ImportVerificationError(`${KEYS_FILE}, line ${number}: not a key record`);
    if (line.kind === 'key' && typeof line.wrapped === 'string' && typeof line.createdAt === 'string') {
      await opts.keyStore.putRaw({ kind: 'key', subjectId: line.subjectId, wrapped: Buffer.from(line.wrapped, 'base64'), createdAt: line.createdAt });
      keys++;
    } else if (line.kind === 'erased' && typeof line.erasedAt === 'string') {
      await opts.keyStore.putRaw({ kind: 'erased', subjectId: line.subjectId, erasedAt: line.erasedAt });
      erased++;
    } else {
      throw new ImportVerificationError(`${KEYS_FILE}, line ${number}: not a key record`);
    }
  }
  return { keys, erased };
}
