/**
 * What the two SQL vector indexes share: a registry table of spaces, one table per space, owner-first
 * filters, deletes across every space in one transaction. Subclasses say how a vector is stored and
 * searched (pgvector's `vector` with HNSW, or `real[]` with an exact scan).
 */
import type { ReadDb, SqlExecutor } from '../read-db/port.ts';
import type { RankedChunk, RetrievalFilter } from '../retrieval/types.ts';
import {
  checkCountFilter, checkItems, checkOwnerDocument, checkSearch, checkSpace, VectorIndexError,
  type VectorIndex, type VectorItem, type VectorSpace,
} from './port.ts';

/** Rows per INSERT statement (PGlite inserts ~2x faster in batches of 100 than of 500: array parameters). */
const INSERT_BATCH = 100;
const UNDEFINED_TABLE = '42P01';

export interface SearchRow {
  chunk_id: string;
  document_id: string;
  version: number;
  score: number;
}

export abstract class SqlVectorIndex implements VectorIndex {
  abstract readonly kind: 'pgvector' | 'postgres-array';
  /** The text is in the read model's lexical index; retrieval fuses that ranking with `search` itself. */
  readonly supportsHybrid = false;
  protected readonly db: ReadDb;
  /** The registry table listing this adapter's spaces. */
  protected abstract readonly registry: string;
  /** Prefix of the per-space tables. */
  protected abstract readonly tablePrefix: string;
  #registryReady = false;

  protected constructor(db: ReadDb) {
    this.db = db;
  }

  /** The DDL creating a space's table and indexes (idempotent). */
  protected abstract createSpaceSql(table: string, space: VectorSpace): string;
  /** A vector as the SQL text literal the column type takes (cast by `vectorCast`). */
  protected abstract encode(vector: Float32Array, norm: number): string;
  /** Cast applied to an encoded vector parameter, e.g. `::vector(3)`. */
  protected abstract vectorCast(space: VectorSpace): string;
  /** The best `limit` rows for a validated, non-trivial search (limit ≥ 1, documentIds not empty). */
  protected abstract searchRows(space: VectorSpace, query: Float32Array, queryNorm: number, filter: RetrievalFilter, limit: number): Promise<SearchRow[]>;

  /** Called inside every write transaction with the owners whose rows in the space changed. */
  protected async ownersChanged(_tx: SqlExecutor, _space: string, _owners: readonly string[]): Promise<void> {}
  /** Called inside deleteOwner's transaction, after the owner's rows are gone from every space. */
  protected async ownerErased(_tx: SqlExecutor, _owner: string): Promise<void> {}
  /** Called inside dropSpace's transaction. */
  protected async spaceDropped(_tx: SqlExecutor, _space: string): Promise<void> {}

  /** The owner (and document) conditions of a search, over params numbered from `first`. */
  protected ownerWhere(filter: RetrievalFilter, first: number): { where: string; params: unknown[] } {
    const params: unknown[] = [filter.ownerId];
    let where = `owner_id = $${first}`;
    if (filter.documentIds !== undefined) {
      params.push([...new Set(filter.documentIds)]);
      where += ` AND document_id = ANY($${first + 1}::text[])`;
    }
    return { where, params };
  }

  /** A search's conditions over params from $3 on, after $1 the query vector and $2 the limit. */
  protected searchSql(query: Float32Array, queryNorm: number, filter: RetrievalFilter, limit: number): { where: string; params: unknown[] } {
    const { where, params } = this.ownerWhere(filter, 3);
    return { where, params: [this.encode(query, queryNorm), limit, ...params] };
  }

  protected table(space: VectorSpace): string {
    return `${this.tablePrefix}${space.id}`;
  }

  async ensureSpace(space: VectorSpace): Promise<void> {
    checkSpace(space);
    await this.db.transaction(async (tx) => {
      await this.#createRegistry(tx);
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`evident-vector-space:${this.table(space)}`]);
      await tx.exec(this.createSpaceSql(this.table(space), space));
      await tx.query(
        `INSERT INTO ${this.registry} (space_id, model_id, dimensions) VALUES ($1, $2, $3) ON CONFLICT (space_id) DO NOTHING`,
        [space.id, space.modelId, space.dimensions],
      );
    });
    this.#registryReady = true;
  }

  async upsert(space: VectorSpace, items: VectorItem[]): Promise<void> {
    checkSpace(space);
    const unique = checkItems(space, items);
    if (unique.length === 0) return;
    const table = this.table(space);
    await this.inSpace(space, () => this.db.transaction(async (tx) => {
      for (let start = 0; start < unique.length; start += INSERT_BATCH) {
        const batch = unique.slice(start, start + INSERT_BATCH);
        // A chunk already stored for another owner is left alone (WHERE), and the count shows it.
        const result = await tx.query(
          `INSERT INTO ${table} (chunk_id, document_id, version, owner_id, embedding)
           SELECT c, d, v, o, e${this.vectorCast(space)} FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) AS u(c, d, v, o, e)
           ON CONFLICT (chunk_id) DO UPDATE SET document_id = excluded.document_id, version = excluded.version, embedding = excluded.embedding
           WHERE ${table}.owner_id = excluded.owner_id`,
          [
            batch.map((item) => item.chunkId), batch.map((item) => item.documentId), batch.map((item) => item.version),
            batch.map((item) => item.ownerId), batch.map((item) => this.encode(item.vector, norm(item.vector))),
          ],
        );
        if (result.rowCount !== batch.length) {
          throw new VectorIndexError('owner-conflict', 'a chunkId in this batch already belongs to another owner; nothing was written');
        }
      }
      await this.ownersChanged(tx, space.id, [...new Set(unique.map((item) => item.ownerId))]);
    }));
  }

  async search(space: VectorSpace, vector: Float32Array, filter: RetrievalFilter, limit: number): Promise<RankedChunk[]> {
    checkSpace(space);
    const queryNorm = checkSearch(space, vector, filter, limit);
    if (limit === 0 || filter.documentIds?.length === 0) {
      await this.#requireSpace(space);
      return [];
    }
    const rows = await this.inSpace(space, () => this.searchRows(space, vector, queryNorm, filter, limit));
    return rows.map((row, i) => ({ chunkId: row.chunk_id, documentId: row.document_id, version: row.version, score: Number(row.score), rank: i + 1 }));
  }

  async deleteDocument(ownerId: string, documentId: string): Promise<number> {
    checkOwnerDocument(ownerId, documentId);
    return this.#deleteEverywhere(ownerId, 'owner_id = $1 AND document_id = $2', [ownerId, documentId]);
  }

  async deleteDocumentVersion(ownerId: string, documentId: string, version: number): Promise<number> {
    checkOwnerDocument(ownerId, documentId, version);
    return this.#deleteEverywhere(ownerId, 'owner_id = $1 AND document_id = $2 AND version = $3', [ownerId, documentId, version]);
  }

  async deleteOwner(ownerId: string): Promise<number> {
    checkOwnerDocument(ownerId);
    return this.#deleteEverywhere(ownerId, 'owner_id = $1', [ownerId], true);
  }

  async count(space: VectorSpace, filter: { ownerId?: string; documentId?: string } = {}): Promise<number> {
    checkSpace(space);
    checkCountFilter(filter);
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.ownerId !== undefined) conditions.push(`owner_id = $${params.push(filter.ownerId)}`);
    if (filter.documentId !== undefined) conditions.push(`document_id = $${params.push(filter.documentId)}`);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const { rows } = await this.inSpace(space, () => this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.table(space)} ${where}`, params));
    return rows[0]?.n ?? 0;
  }

  async spaces(): Promise<VectorSpace[]> {
    if (!(await this.#registryExists())) return [];
    const { rows } = await this.db.query<{ space_id: string; model_id: string; dimensions: number }>(
      `SELECT space_id, model_id, dimensions FROM ${this.registry} ORDER BY created_at, space_id`,
    );
    return rows.map((row) => ({ id: row.space_id, modelId: row.model_id, dimensions: row.dimensions }));
  }

  /** Every table holding vectors, for ReadDb.scrub after an erasure (deleteOwner). */
  async tables(): Promise<string[]> {
    if (!(await this.#registryExists())) return [];
    return (await this.spaces()).map((space) => this.table(space));
  }

  async dropSpace(space: VectorSpace): Promise<void> {
    checkSpace(space);
    if (!(await this.#registryExists())) return;
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`evident-vector-space:${this.table(space)}`]);
      // The registry row first: it waits for deletes holding it FOR SHARE, which then never find the table gone.
      await tx.query(`DELETE FROM ${this.registry} WHERE space_id = $1`, [space.id]);
      await tx.exec(`DROP TABLE IF EXISTS ${this.table(space)}`);
      await this.spaceDropped(tx, space.id);
    });
  }

  /** Deletes matching rows from every space's table in one transaction; the spaces are read inside it. */
  async #deleteEverywhere(ownerId: string, where: string, params: unknown[], erase = false): Promise<number> {
    if (!(await this.#registryExists())) return 0;
    return this.db.transaction(async (tx) => {
      // Lock the registry rows so a space dropped meanwhile cannot make a table vanish under the deletes.
      const { rows } = await tx.query<{ space_id: string }>(`SELECT space_id FROM ${this.registry} ORDER BY space_id FOR SHARE`);
      let removed = 0;
      for (const { space_id } of rows) {
        const result = await tx.query(`DELETE FROM ${this.tablePrefix}${space_id} WHERE ${where}`, params);
        if (result.rowCount > 0) await this.ownersChanged(tx, space_id, [ownerId]);
        removed += result.rowCount;
      }
      if (erase) await this.ownerErased(tx, ownerId);
      return removed;
    });
  }

  async #createRegistry(tx: SqlExecutor): Promise<void> {
    if (this.#registryReady) return;
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`evident-vector-registry:${this.registry}`]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS ${this.registry} (
      space_id text PRIMARY KEY, model_id text NOT NULL, dimensions int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  }

  async #registryExists(): Promise<boolean> {
    if (this.#registryReady) return true;
    const { rows } = await this.db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [this.registry]);
    return rows[0]?.found === true;
  }

  async #requireSpace(space: VectorSpace): Promise<void> {
    const { rows } = await this.db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [this.table(space)]);
    if (rows[0]?.found !== true) throw unknownSpace(space);
  }

  /** Turns "relation does not exist" for the space's table into an unknown-space error. */
  protected async inSpace<T>(space: VectorSpace, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code === UNDEFINED_TABLE) throw unknownSpace(space, error);
      throw error;
    }
  }
}

function unknownSpace(space: VectorSpace, cause?: unknown): VectorIndexError {
  return new VectorIndexError('unknown-space', `vector space ${space.id} (${space.modelId}, ${space.dimensions} dimensions) does not exist: call ensureSpace first`, { cause });
}

function norm(vector: Float32Array): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}
