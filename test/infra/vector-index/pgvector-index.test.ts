import { describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../../src/infra/read-db/pglite-read-db.ts';
import { PgvectorIndex } from '../../../src/infra/vector-index/pgvector-index.ts';
import { spaceFor } from '../../../src/infra/vector-index/port.ts';
import { vectorIndexContract } from '../../contract/vector-index.contract.ts';

vectorIndexContract('pgvector on PGlite (few rows per owner: exact scan)', async () => {
  const db = await PgliteReadDb.open();
  return { index: await PgvectorIndex.open(db), dispose: () => db.close() };
});

vectorIndexContract('pgvector on PGlite (always HNSW with iterative scan)', async () => {
  const db = await PgliteReadDb.open();
  return { index: await PgvectorIndex.open(db, { exactBelow: 0 }), dispose: () => db.close() };
});

describe('PgvectorIndex on PGlite', () => {
  it('names its tables for scrubbing after an erasure, and scrub leaves the owner gone', async () => {
    const db = await PgliteReadDb.open();
    try {
      const index = await PgvectorIndex.open(db);
      const space = spaceFor('test:scrub', 3);
      await index.ensureSpace(space);
      await index.upsert(space, [{ chunkId: 'c', documentId: 'd', version: 1, ownerId: 'erased', vector: Float32Array.of(1, 2, 3) }]);
      expect(await index.tables()).toEqual([`vec_${space.id}`]);
      expect(await index.deleteOwner('erased')).toBe(1);
      await db.scrub(await index.tables());
      expect(await index.count(space)).toBe(0);
    } finally {
      await db.close();
    }
  });
});
