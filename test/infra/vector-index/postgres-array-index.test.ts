import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { spaceFor } from '../../../src/infra/vector-index/port.ts';
import { PostgresArrayIndex } from '../../../src/infra/vector-index/postgres-array-index.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../../support/postgres.ts';
import { TestEmbedder } from '../../support/test-embedder.ts';

const skip = postgresSkipReason('PostgreSQL real[] vector index');
describe.skipIf(skip)('postgres', () => {
  vectorIndexContract('real[] on PostgreSQL, scored in JS', async () => {
    const database = await createTestDatabase();
    const db = await PostgresReadDb.open({ connectionString: database.url });
    return { index: new PostgresArrayIndex(db), dispose: async () => { await db.close(); await database.drop(); } };
  });

  vectorIndexContract('real[] on PostgreSQL, scored in SQL (no cache)', async () => {
    const database = await createTestDatabase();
    const db = await PostgresReadDb.open({ connectionString: database.url });
    return { index: new PostgresArrayIndex(db, { cacheBytes: 0 }), dispose: async () => { await db.close(); await database.drop(); } };
  });

  describe('two instances on one database', () => {
    let database: TestDatabase;
    let dbs: PostgresReadDb[];
    let reader: PostgresArrayIndex;
    let writer: PostgresArrayIndex;
    let inSql: PostgresArrayIndex;
    beforeAll(async () => {
      database = await createTestDatabase();
      dbs = await Promise.all([0, 1, 2].map(() => PostgresReadDb.open({ connectionString: database.url })));
      reader = new PostgresArrayIndex(dbs[0]!);
      writer = new PostgresArrayIndex(dbs[1]!);
      inSql = new PostgresArrayIndex(dbs[2]!, { cacheBytes: 0 });
    });
    afterAll(async () => {
      await Promise.all((dbs ?? []).map((db) => db.close()));
      await database?.drop();
    });

    it('sees the other instance’s writes and deletes at its next search', async () => {
      const space = spaceFor('test:two-instances', 3);
      const owner = randomUUID();
      await writer.ensureSpace(space);
      await writer.upsert(space, [{ chunkId: 'far', documentId: 'a', version: 1, ownerId: owner, vector: Float32Array.of(0, 1, 0) }]);
      expect((await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 1))[0]!.chunkId).toBe('far');
      await writer.upsert(space, [{ chunkId: 'near', documentId: 'b', version: 1, ownerId: owner, vector: Float32Array.of(1, 0.1, 0) }]);
      expect((await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 1))[0]!.chunkId).toBe('near');
      expect(await writer.deleteDocument(owner, 'b')).toBe(1);
      expect((await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 5)).map((hit) => hit.chunkId)).toEqual(['far']);
      await writer.dropSpace(space);
      await writer.ensureSpace(space);
      expect(await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 5)).toEqual([]);
    });

    it('after deleteOwner keeps no row naming the owner, and scrub covers every table', async () => {
      const space = spaceFor('test:erasure', 3);
      const owner = randomUUID();
      await writer.ensureSpace(space);
      await writer.upsert(space, [{ chunkId: `e-${owner}`, documentId: 'a', version: 1, ownerId: owner, vector: Float32Array.of(1, 0, 0) }]);
      expect(await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 1)).toHaveLength(1);
      expect(await writer.deleteOwner(owner)).toBe(1);
      expect(await reader.search(space, Float32Array.of(1, 0, 0), { ownerId: owner }, 1)).toEqual([]);
      const tables = await writer.tables();
      for (const table of tables) {
        const { rows } = await dbs[0]!.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE owner_id = $1`, [owner]);
        expect(rows[0]!.n).toBe(0);
      }
      expect(tables).toContain('vector_array_generations');
      await dbs[0]!.scrub(tables);
    });

    it('ranks exactly as the SQL scoring does, ties included', async () => {
      const space = spaceFor('test:hashed', 256);
      const owner = randomUUID();
      const embedder = new TestEmbedder();
      const texts = Array.from({ length: 200 }, (_, i) => `alpha beta gamma ${i % 7} delta${i % 13} epsilon${i % 3}`);
      const vectors = await embedder.embed(texts);
      await writer.ensureSpace(space);
      await writer.upsert(space, vectors.map((vector, i) => ({ chunkId: `c${String(i).padStart(3, '0')}`, documentId: `d${i % 5}`, version: 1, ownerId: owner, vector })));
      for (const text of ['alpha delta3', 'gamma epsilon1 6', 'nothing shared']) {
        const [query] = await embedder.embed([text]);
        for (const filter of [{ ownerId: owner }, { ownerId: owner, documentIds: ['d1', 'd3'] }]) {
          const fromCache = await reader.search(space, query!, filter, 25);
          const fromSql = await inSql.search(space, query!, filter, 25);
          expect(fromCache.map((hit) => hit.chunkId)).toEqual(fromSql.map((hit) => hit.chunkId));
          fromCache.forEach((hit, i) => expect(hit.score).toBeCloseTo(fromSql[i]!.score, 5));
        }
      }
    });
  });
});
