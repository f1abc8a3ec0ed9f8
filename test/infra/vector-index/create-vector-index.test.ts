import { describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PostgresReadDb } from '../../../src/infra/read-db/postgres-read-db.ts';
import { createVectorIndex } from '../../../src/infra/vector-index/create-vector-index.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.ts';

describe('createVectorIndex', () => {
  it('picks pgvector on PGlite', async () => {
    const db = await PgliteReadDb.open();
    try {
      const chosen = await createVectorIndex(db);
      expect(chosen.index.kind).toBe('pgvector');
      expect(chosen.reason).toMatch(/pgvector in PGlite/);
    } finally {
      await db.close();
    }
  });

  describe.skipIf(postgresSkipReason('createVectorIndex on PostgreSQL'))('on PostgreSQL', () => {
    it('picks pgvector when the server has it, else real[] with the reason said', async () => {
      const database = await createTestDatabase();
      const db = await PostgresReadDb.open({ connectionString: database.url });
      try {
        const { rows } = await db.query<{ available: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available");
        const chosen = await createVectorIndex(db);
        if (rows[0]!.available) {
          expect(chosen.index.kind).toBe('pgvector');
        } else {
          expect(chosen.index.kind).toBe('postgres-array');
          expect(chosen.reason).toMatch(/no pgvector extension/);
          await expect(PgvectorIndex.open(db)).rejects.toMatchObject({ code: 'unsupported', message: expect.stringMatching(/pg_available_extensions/) });
        }
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
});
