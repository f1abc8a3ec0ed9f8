import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { checkContinues, GENESIS_LINK, type ChainLink, type ChainStore, type SignedCheckpoint } from './chain-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chain_links (
  seq INTEGER PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE,
  hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_checkpoints (
  seq INTEGER PRIMARY KEY,
  position INTEGER NOT NULL,
  hash BLOB NOT NULL,
  signature BLOB NOT NULL,
  key_id TEXT NOT NULL,
  signed_at TEXT NOT NULL
);
`;

interface LinkRow { seq: number; position: number | bigint; hash: Uint8Array }
interface CheckpointRow extends LinkRow { signature: Uint8Array; key_id: string; signed_at: string }

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const toLink = (row: LinkRow): ChainLink => ({ seq: Number(row.seq), position: BigInt(row.position), hash: hex(row.hash) });
const toCheckpoint = (row: CheckpointRow): SignedCheckpoint => ({
  ...toLink(row), signature: Buffer.from(row.signature).toString('base64'), keyId: row.key_id, signedAt: row.signed_at,
});

/**
 * The chain in the event log's own SQLite file (tables chain_links, chain_checkpoints), on a
 * connection of its own. synchronous=NORMAL: a link lost to a power cut is simply sealed again, and
 * WAL keeps what survives a prefix, so a checkpoint never outlives the links it covers.
 */
export class SqliteChainStore implements ChainStore {
  readonly kind = 'sqlite';
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private closed = false;

  /** `path` is the events.sqlite file (the SqliteEventStore creates it and its directory). */
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;');
    this.db.exec(SCHEMA);
  }

  private statement(sql: string): StatementSync {
    if (this.closed) throw new Error('Chain store is closed');
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private readHead(): ChainLink {
    const row = this.statement('SELECT seq, position, hash FROM chain_links ORDER BY seq DESC LIMIT 1').get() as LinkRow | undefined;
    return row ? toLink(row) : GENESIS_LINK;
  }

  async head(): Promise<ChainLink> {
    return this.readHead();
  }

  async appendLinks(links: readonly ChainLink[]): Promise<void> {
    if (links.length === 0) return;
    const insert = this.statement('INSERT INTO chain_links (seq, position, hash) VALUES (?, ?, ?)');
    this.db.exec('BEGIN IMMEDIATE');
    try {
      checkContinues(this.readHead(), links);
      for (const link of links) insert.run(link.seq, link.position, Buffer.from(link.hash, 'hex'));
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async links(afterSeq: number, max: number): Promise<ChainLink[]> {
    const rows = this.statement('SELECT seq, position, hash FROM chain_links WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, max) as unknown as LinkRow[];
    return rows.map(toLink);
  }

  async checkpoints(): Promise<SignedCheckpoint[]> {
    const rows = this.statement('SELECT seq, position, hash, signature, key_id, signed_at FROM chain_checkpoints ORDER BY seq')
      .all() as unknown as CheckpointRow[];
    return rows.map(toCheckpoint);
  }

  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    const row = this.statement('SELECT seq, position, hash, signature, key_id, signed_at FROM chain_checkpoints ORDER BY seq DESC LIMIT 1')
      .get() as CheckpointRow | undefined;
    return row ? toCheckpoint(row) : null;
  }

  async putCheckpoint(checkpoint: SignedCheckpoint): Promise<void> {
    this.statement(
      `INSERT INTO chain_checkpoints (seq, position, hash, signature, key_id, signed_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (seq) DO NOTHING`,
    ).run(checkpoint.seq, checkpoint.position, Buffer.from(checkpoint.hash, 'hex'), Buffer.from(checkpoint.signature, 'base64'),
      checkpoint.keyId, checkpoint.signedAt);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }
}
