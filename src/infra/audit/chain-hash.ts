import { createHash } from 'node:crypto';
import type { RecordedEvent } from '../event-store/port.ts';

/**
 * The hash chain over the log as stored (ARCHITECTURE.md §11):
 *   hash_n = sha256(hash_{n-1} ‖ canonicalBytes(event_n)), hash_0 = 32 zero bytes.
 * canonicalBytes is canonical JSON (keys sorted by UTF-16 code units, no whitespace) of
 * { id, stream, revision (decimal string), type, schemaVersion, data, metadata } with data and
 * metadata exactly as the raw adapter returns them, so personal fields are hashed as ciphertext and
 * crypto-shredding never breaks the chain. The position is left out on purpose: it is specific to a
 * store (and may have gaps), and an export imported elsewhere must give the same head hash.
 */

export const HASH_BYTES = 32;
export const GENESIS_HASH = Buffer.alloc(HASH_BYTES);
export const GENESIS_HASH_HEX = GENESIS_HASH.toString('hex');

/** Canonical JSON: sorted keys, no whitespace; numbers and strings as JSON.stringify writes them. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object).filter((key) => object[key] !== undefined).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

/** The stored envelope without its position, as the chain hashes it. */
export type ChainedEvent = Pick<RecordedEvent, 'id' | 'stream' | 'revision' | 'type' | 'schemaVersion' | 'data' | 'metadata'>;

export function canonicalEventBytes(event: ChainedEvent): Buffer {
  return Buffer.from(canonicalJson({
    id: event.id,
    stream: event.stream,
    revision: event.revision.toString(),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
  }), 'utf8');
}

/** hash_n from hash_{n-1} (32 bytes) and event n. */
export function chainHash(previous: Buffer, event: ChainedEvent): Buffer {
  if (previous.length !== HASH_BYTES) throw new Error(`chainHash: previous hash must be ${HASH_BYTES} bytes`);
  return createHash('sha256').update(previous).update(canonicalEventBytes(event)).digest();
}

/** Folds events onto a chain head; returns the new head hash. */
export function chainOver(previous: Buffer, events: Iterable<ChainedEvent>): Buffer {
  let hash = previous;
  for (const event of events) hash = chainHash(hash, event);
  return hash;
}
