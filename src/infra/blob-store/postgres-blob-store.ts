import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createPool } from '../postgres-pool.ts';
import { orUnavailable } from '../store-unavailable.ts';
import { BlobOpener, type SubjectKeys } from './blob-cipher.ts';
import { BlobNotFoundError, BlobStoreClosedError, BlobTooLargeError, BlobUnreadableError } from './errors.ts';
import type { BlobStore, PutOptions, StoredBlob } from './port.ts';
import { blobRef, checkMaxBytes, checkOwnerId, checkSha256, ownerRef } from './references.ts';
import { sealStream, type SealedSink } from './seal-stream.ts';

const STORE = 'blob store';
const SCHEMA_LOCK = 1163282764;
/**
 * Segments are written before their blob row, in the same transaction: the deferred foreign key
 * checks at commit that each belongs to a row, and deleting a row deletes its segments. Segment bytes
 * are ciphertext, so they are stored without compression (EXTERNAL).
 */
const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS evident_blobs (
  blob_id uuid PRIMARY KEY,
  owner_ref bytea NOT NULL,
  blob_ref bytea NOT NULL,
  header bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner_ref, blob_ref)
);
CREATE TABLE IF NOT EXISTS evident_blob_segments (
  blob_id uuid NOT NULL REFERENCES evident_blobs (blob_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  segment integer NOT NULL,
  bytes bytea NOT NULL,
  PRIMARY KEY (blob_id, segment)
);
ALTER TABLE evident_blob_segments ALTER COLUMN bytes SET STORAGE EXTERNAL`;

/** Segments fetched per query while reading: 16 × 64 KiB. */
const SEGMENTS_PER_PAGE = 16;
/** Segments written per statement: fewer round trips, at most 512 KiB held. */
const SEGMENTS_PER_INSERT = 8;

export interface PostgresBlobStoreOptions {
  connectionString: string;
  keys: SubjectKeys;
  /** Connections; each put in progress holds one for its whole upload. Default 5. */
  poolSize?: number;
}

/**
 * Blobs in PostgreSQL (the event log's database), so every instance sees every file: one row per
 * blob (owner and blob named by hashes, see references.ts) and its segments as bytea rows. A put
 * writes everything in one transaction, so a blob is visible whole or not at all.
 */
export class PostgresBlobStore implements BlobStore {
  private readonly pool: pg.Pool;
  private readonly keys: SubjectKeys;
  private closed = false;

  private constructor(options: PostgresBlobStoreOptions) {
    this.pool = createPool({ connectionString: options.connectionString, max: options.poolSize ?? 5 });
    this.keys = options.keys;
  }

  static async open(options: PostgresBlobStoreOptions): Promise<PostgresBlobStore> {
    const store = new PostgresBlobStore(options);
    try {
      await store.transaction(async (client) => {
        // CREATE TABLE IF NOT EXISTS is not safe against itself running concurrently.
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA_SQL);
      });
    } catch (error) {
      await store.pool.end().catch(() => {});
      throw error;
    }
    return store;
  }

  private check(): void {
    if (this.closed) throw new BlobStoreClosedError();
  }

  private query<Row extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<Row>> {
    return orUnavailable(STORE, () => this.pool.query<Row>(sql, params));
  }

  private async transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await orUnavailable(STORE, () => this.pool.connect());
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async put(ownerId: string, bytes: AsyncIterable<Uint8Array>, options: PutOptions): Promise<StoredBlob> {
    this.check();
    checkOwnerId(ownerId);
    return orUnavailable(STORE, () => sealStream(this.keys, ownerId, bytes, options, () => this.transactionSink(ownerId)));
  }

  private async transactionSink(ownerId: string): Promise<SealedSink> {
    const client = await this.pool.connect();
    let released = false;
    const release = (error?: Error) => {
      if (!released) {
        released = true;
        client.release(error);
      }
    };
    try {
      await client.query('BEGIN');
    } catch (error) {
      release(error as Error);
      throw error;
    }
    const blobId = randomUUID();
    let segment = 0;
    let batch: Buffer[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      const values = rows.map((_, i) => `($1, $${2 * i + 2}, $${2 * i + 3})`).join(', ');
      const params: unknown[] = [blobId];
      for (const bytes of rows) params.push(segment++, bytes);
      await client.query(`INSERT INTO evident_blob_segments (blob_id, segment, bytes) VALUES ${values}`, params);
    };
    return {
      write: async (bytes) => {
        batch.push(bytes);
        if (batch.length >= SEGMENTS_PER_INSERT) await flush();
      },
      commit: async (header, blob) => {
        try {
          await flush();
          const inserted = await client.query(
            `INSERT INTO evident_blobs (blob_id, owner_ref, blob_ref, header) VALUES ($1, $2, $3, $4)
             ON CONFLICT (owner_ref, blob_ref) DO NOTHING`,
            [blobId, ownerRef(ownerId), blobRef(ownerId, blob.sha256), header],
          );
          // Idempotent: the owner already has these bytes, so what this put wrote is dropped.
          await client.query(inserted.rowCount === 1 ? 'COMMIT' : 'ROLLBACK');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          release(error as Error);
          throw error;
        }
        release();
      },
      discard: async () => {
        if (released) return;
        try {
          await client.query('ROLLBACK');
          release();
        } catch (error) {
          release(error as Error); // a broken connection is not given back to the pool
        }
      },
    };
  }

  read(ownerId: string, sha256: string): AsyncIterable<Uint8Array> {
    return this.segments(ownerId, sha256, undefined);
  }

  async readAll(ownerId: string, sha256: string, maxBytes: number): Promise<Buffer> {
    checkMaxBytes(maxBytes);
    const parts: Buffer[] = [];
    for await (const part of this.segments(ownerId, sha256, maxBytes)) parts.push(part);
    return Buffer.concat(parts);
  }

  private async *segments(ownerId: string, sha256: string, maxBytes: number | undefined): AsyncGenerator<Buffer> {
    this.check();
    checkOwnerId(ownerId);
    checkSha256(sha256);
    const found = await this.query<{ blob_id: string; header: Buffer }>(
      'SELECT blob_id, header FROM evident_blobs WHERE owner_ref = $1 AND blob_ref = $2',
      [ownerRef(ownerId), blobRef(ownerId, sha256)],
    );
    const row = found.rows[0];
    if (!row) throw new BlobNotFoundError();
    const opener = await BlobOpener.open(this.keys, ownerId, sha256, row.header);
    if (maxBytes !== undefined && opener.size > maxBytes) throw new BlobTooLargeError(maxBytes);
    // Pages in separate statements, so a slow reader holds no connection; a blob deleted meanwhile
    // shows as missing segments.
    for (let from = 0; from < opener.segmentCount; from += SEGMENTS_PER_PAGE) {
      const page = await this.query<{ segment: number; bytes: Buffer }>(
        `SELECT segment, bytes FROM evident_blob_segments WHERE blob_id = $1 AND segment >= $2 AND segment < $3
         ORDER BY segment`,
        [row.blob_id, from, from + SEGMENTS_PER_PAGE],
      );
      const expected = Math.min(SEGMENTS_PER_PAGE, opener.segmentCount - from);
      if (page.rows.length !== expected || page.rows.some((r, i) => r.segment !== from + i)) {
        if (!(await this.exists(ownerId, sha256))) throw new BlobNotFoundError();
        throw new BlobUnreadableError('corrupt', 'segments missing');
      }
      for (const r of page.rows) yield opener.segment(r.bytes);
    }
    const extra = await this.query(
      'SELECT 1 FROM evident_blob_segments WHERE blob_id = $1 AND segment >= $2 LIMIT 1', [row.blob_id, opener.segmentCount],
    );
    if ((extra.rowCount ?? 0) > 0) throw new BlobUnreadableError('corrupt', 'more segments than the header says');
    opener.finish();
  }

  async exists(ownerId: string, sha256: string): Promise<boolean> {
    this.check();
    const result = await this.query(
      'SELECT 1 FROM evident_blobs WHERE owner_ref = $1 AND blob_ref = $2',
      [ownerRef(checkOwnerId(ownerId)), blobRef(ownerId, checkSha256(sha256))],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async delete(ownerId: string, sha256: string): Promise<void> {
    this.check();
    await this.query(
      'DELETE FROM evident_blobs WHERE owner_ref = $1 AND blob_ref = $2',
      [ownerRef(checkOwnerId(ownerId)), blobRef(ownerId, checkSha256(sha256))],
    );
  }

  async deleteOwner(ownerId: string): Promise<number> {
    this.check();
    const result = await this.query('DELETE FROM evident_blobs WHERE owner_ref = $1', [ownerRef(checkOwnerId(ownerId))]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
