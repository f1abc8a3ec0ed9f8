import type pg from 'pg';
import { createPool } from '../postgres-pool.ts';
import { orUnavailable } from '../store-unavailable.ts';
import { ChainConflictError, checkContinues, GENESIS_LINK, type ChainLink, type ChainStore, type SignedCheckpoint } from './chain-store.ts';

const STORE = 'chain store';
const SCHEMA_LOCK = 1163282770;
const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS evident_chain_links (
  seq bigint PRIMARY KEY,
  position bigint NOT NULL UNIQUE,
  hash bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS evident_chain_checkpoints (
  seq bigint PRIMARY KEY,
  position bigint NOT NULL,
  hash bytea NOT NULL,
  signature bytea NOT NULL,
  key_id text NOT NULL,
  -- text, not timestamptz: kept byte for byte as signed
  signed_at text NOT NULL
)`;

interface LinkRow { seq: string; position: string; hash: Buffer }
interface CheckpointRow extends LinkRow { signature: Buffer; key_id: string; signed_at: string }

// bigint columns arrive as strings (node-postgres' default for int8).
const LINK_COLUMNS = 'seq, position, hash';
const CHECKPOINT_COLUMNS = `${LINK_COLUMNS}, signature, key_id, signed_at`;
const toLink = (row: LinkRow): ChainLink => ({ seq: Number(row.seq), position: BigInt(row.position), hash: row.hash.toString('hex') });
const toCheckpoint = (row: CheckpointRow): SignedCheckpoint => ({
  ...toLink(row), signature: row.signature.toString('base64'), keyId: row.key_id, signedAt: row.signed_at,
});

/** The chain in the event log's PostgreSQL database (tables evident_chain_links, evident_chain_checkpoints). */
export class PostgresChainStore implements ChainStore {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private closed = false;

  private constructor(connectionString: string, poolSize: number) {
    this.pool = createPool({ connectionString, max: poolSize });
  }

  static async open(connectionString: string, options: { poolSize?: number } = {}): Promise<PostgresChainStore> {
    const store = new PostgresChainStore(connectionString, options.poolSize ?? 3);
    try {
      await store.transaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA_SQL);
      });
    } catch (error) {
      await store.pool.end().catch(() => {});
      throw error;
    }
    return store;
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return orUnavailable(STORE, async () => {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    });
  }

  private query<Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    if (this.closed) return Promise.reject(new Error('Chain store is closed'));
    return orUnavailable(STORE, () => this.pool.query<Row>(sql, params));
  }

  async head(): Promise<ChainLink> {
    const { rows } = await this.query<LinkRow>(`SELECT ${LINK_COLUMNS} FROM evident_chain_links ORDER BY seq DESC LIMIT 1`);
    return rows[0] ? toLink(rows[0]) : GENESIS_LINK;
  }

  /**
   * One statement, one round trip: it inserts only when the links continue the head it reads. Two
   * sealers racing past that check both insert the same seq, and the primary key refuses the second.
   */
  async appendLinks(links: readonly ChainLink[]): Promise<void> {
    if (links.length === 0) return;
    const first = links[0]!;
    checkContinues({ seq: first.seq - 1, position: first.position - 1n, hash: GENESIS_LINK.hash }, links);
    let inserted: number;
    try {
      const result = await this.query(
        `WITH head AS (SELECT seq, position FROM evident_chain_links ORDER BY seq DESC LIMIT 1)
         INSERT INTO evident_chain_links (seq, position, hash)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
          WHERE COALESCE((SELECT seq FROM head), 0) = $4 AND COALESCE((SELECT position FROM head), 0) < $5`,
        [links.map((l) => l.seq), links.map((l) => l.position.toString()), links.map((l) => Buffer.from(l.hash, 'hex')),
          first.seq - 1, first.position.toString()],
      );
      inserted = result.rowCount ?? 0;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ChainConflictError(`Chain link seq ${first.seq} was written by another sealer`);
      throw error;
    }
    if (inserted !== links.length) throw new ChainConflictError(`Chain links from seq ${first.seq} do not continue the stored head: another sealer has written`);
  }

  async links(afterSeq: number, max: number): Promise<ChainLink[]> {
    const { rows } = await this.query<LinkRow>(
      `SELECT ${LINK_COLUMNS} FROM evident_chain_links WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, max]);
    return rows.map(toLink);
  }

  async checkpoints(): Promise<SignedCheckpoint[]> {
    const { rows } = await this.query<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM evident_chain_checkpoints ORDER BY seq`);
    return rows.map(toCheckpoint);
  }

  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    const { rows } = await this.query<CheckpointRow>(`SELECT ${CHECKPOINT_COLUMNS} FROM evident_chain_checkpoints ORDER BY seq DESC LIMIT 1`);
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  async putCheckpoint(checkpoint: SignedCheckpoint): Promise<void> {
    await this.query(
      `INSERT INTO evident_chain_checkpoints (seq, position, hash, signature, key_id, signed_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (seq) DO NOTHING`,
      [checkpoint.seq, checkpoint.position.toString(), Buffer.from(checkpoint.hash, 'hex'), Buffer.from(checkpoint.signature, 'base64'),
        checkpoint.keyId, checkpoint.signedAt],
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
