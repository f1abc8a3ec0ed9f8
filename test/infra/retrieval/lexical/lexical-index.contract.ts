import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../../../src/app.ts';
import { migrate } from '../../../../src/infra/read-db/migrations.ts';
import type { ReadDb } from '../../../../src/infra/read-db/port.ts';
import {
  addChunks, countChunks, DEFAULT_B, DEFAULT_K1, LexicalIndexInputError, MAX_QUERY_TERMS, removeDocument,
  removeDocumentVersion, removeOwner, searchLexical,
} from '../../../../src/infra/retrieval/lexical/lexical-index.ts';
import type { IndexedChunk } from '../../../../src/infra/retrieval/types.ts';

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

function chunk(ownerId: string, documentId: string, chunkId: string, text: string, version = 1): IndexedChunk {
  return { chunkId, documentId, version, ownerId, index: 0, text, page: null, headingPath: [] };
}

/** BM25 of one term in one chunk, straight from the formula. */
function bm25(tf: number, dl: number, df: number, n: number, avgdl: number, k1 = DEFAULT_K1, b = DEFAULT_B): number {
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * dl) / avgdl));
}

async function rowsOf(db: ReadDb, ownerId: string): Promise<{ chunks: number; postings: number; stats: number }> {
  const count = async (table: string) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE owner_id = $1`, [ownerId])).rows[0]!.n;
  return { chunks: await count('lexical_chunks'), postings: await count('lexical_postings'), stats: await count('lexical_owner_stats') };
}

async function snapshot(db: ReadDb, ownerId: string): Promise<unknown> {
  const chunks = await db.query('SELECT * FROM lexical_chunks WHERE owner_id = $1 ORDER BY chunk_id', [ownerId]);
  const postings = await db.query('SELECT * FROM lexical_postings WHERE owner_id = $1 ORDER BY term, chunk_id', [ownerId]);
  const stats = await db.query('SELECT * FROM lexical_owner_stats WHERE owner_id = $1', [ownerId]);
  return { chunks: chunks.rows, postings: postings.rows, stats: stats.rows };
}

/** One suite for every read database the lexical index runs on. */
export function lexicalIndexContract(name: string, open: () => Promise<ReadDb>): void {
  describe(`lexical index on ${name}`, () => {
    let db: ReadDb;
    let owner: string;
    const add = (chunks: IndexedChunk[]) => db.transaction((tx) => addChunks(tx, chunks));
    const search = (query: string, ownerId = owner, options: { limit?: number; documentIds?: string[] } = {}) =>
      searchLexical(db, query, { ownerId, ...(options.documentIds ? { documentIds: options.documentIds } : {}) },
        { limit: options.limit ?? 10 });

    beforeAll(async () => {
      db = await open();
      await migrate(db, MIGRATIONS_DIR);
    });
    afterAll(async () => {
      await db?.close();
    });
    beforeEach(() => {
      owner = unique('owner');
    });

    it('ranks the chunk holding the rare query term first', async () => {
      await add([
        chunk(owner, 'd1', `${owner}/a`, 'protein folding in cells'),
        chunk(owner, 'd1', `${owner}/b`, 'protein synthesis in cells'),
        chunk(owner, 'd2', `${owner}/c`, 'protein kinase inhibitors and protein cells'),
        chunk(owner, 'd2', `${owner}/d`, 'chaperone proteins assist protein cells'),
      ]);
      const hits = await search('protein chaperone');
      expect(hits[0]).toMatchObject({ chunkId: `${owner}/d`, documentId: 'd2', version: 1, rank: 1 });
      expect(hits.map((h) => h.rank)).toEqual([1, 2, 3, 4]);
      for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    });

    it('scores BM25 per the formula, with N, avgdl and df of this owner only', async () => {
      const other = unique('other');
      await add([
        chunk(owner, 'd1', `${owner}/1`, 'apple banana'), // apple:1, banana:1 → dl 2
        chunk(owner, 'd1', `${owner}/2`, 'apple apple cherry'), // apple:2, cherri:1 → dl 3
        chunk(owner, 'd2', `${owner}/3`, 'durian'), // dl 1
        // Someone else's chunks must change nothing: lots of apples, other lengths.
        ...Array.from({ length: 5 }, (_, i) => chunk(other, 'x', `${other}/${i}`, 'apple apple apple apple fig grape')),
      ]);
      const n = 3, avgdl = (2 + 3 + 1) / 3;
      const hits = await search('apple');
      expect(hits.map((h) => h.chunkId)).toEqual([`${owner}/2`, `${owner}/1`]);
      expect(hits[0]!.score).toBeCloseTo(bm25(2, 3, 2, n, avgdl), 10);
      expect(hits[1]!.score).toBeCloseTo(bm25(1, 2, 2, n, avgdl), 10);

      // Several terms add up; a repeated query term counts once.
      const [both] = await search('banana apple banana');
      expect(both!.chunkId).toBe(`${owner}/1`);
      expect(both!.score).toBeCloseTo(bm25(1, 2, 2, n, avgdl) + bm25(1, 2, 1, n, avgdl), 10);

      // k1 and b from the options.
      const [tuned] = await searchLexical(db, 'cherry', { ownerId: owner }, { limit: 1, k1: 2, b: 0.9 });
      expect(tuned!.score).toBeCloseTo(bm25(1, 3, 1, n, avgdl, 2, 0.9), 10);
    });

    it('never shows one owner another owner\'s chunks', async () => {
      const other = unique('other');
      await add([chunk(owner, 'd1', `${owner}/mine`, 'secret zebra notes'), chunk(other, 'd1', `${other}/theirs`, 'zebra stripes')]);
      expect((await search('zebra')).map((h) => h.chunkId)).toEqual([`${owner}/mine`]);
      expect((await search('zebra', other)).map((h) => h.chunkId)).toEqual([`${other}/theirs`]);
      expect(await search('zebra', unique('nobody'))).toEqual([]);
      expect(await countChunks(db, { ownerId: owner })).toBe(1);
    });

    it('filters by document without changing the statistics', async () => {
      await add([
        chunk(owner, 'd1', `${owner}/1`, 'glucose metabolism'),
        chunk(owner, 'd2', `${owner}/2`, 'glucose transport glucose'),
        chunk(owner, 'd3', `${owner}/3`, 'glucose'),
      ]);
      const all = await search('glucose');
      const onlyD1 = await search('glucose', owner, { documentIds: ['d1', 'missing'] });
      expect(onlyD1.map((h) => [h.chunkId, h.rank])).toEqual([[`${owner}/1`, 1]]);
      expect(onlyD1[0]!.score).toBeCloseTo(all.find((h) => h.chunkId === `${owner}/1`)!.score, 10);
      expect(await search('glucose', owner, { documentIds: [] })).toEqual([]);
      expect(await countChunks(db, { ownerId: owner, documentIds: ['d1', 'd2'] })).toBe(2);
      expect(await countChunks(db, { ownerId: owner, documentIds: [] })).toBe(0);
    });

    it('respects the limit and breaks score ties by chunk id', async () => {
      await add(['e', 'c', 'a', 'd', 'b'].map((id) => chunk(owner, 'd1', `${owner}/${id}`, 'identical text here')));
      const hits = await search('identical', owner, { limit: 3 });
      expect(hits.map((h) => h.chunkId)).toEqual([`${owner}/a`, `${owner}/b`, `${owner}/c`]);
      expect(hits.map((h) => h.rank)).toEqual([1, 2, 3]);
    });

    it('removes a document, leaving zero rows of it and the statistics of the rest', async () => {
      await add([
        chunk(owner, 'keep', `${owner}/k1`, 'mitochondria energy'),
        chunk(owner, 'keep', `${owner}/k2`, 'ribosome'),
        chunk(owner, 'gone', `${owner}/g1`, 'mitochondria mitochondria dna repair'),
        chunk(owner, 'gone', `${owner}/g2`, 'dna', 2),
      ]);
      expect(await db.transaction((tx) => removeDocument(tx, owner, 'gone'))).toBe(2);
      expect(await countChunks(db, { ownerId: owner, documentIds: ['gone'] })).toBe(0);
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM lexical_postings WHERE chunk_id = ANY($1::text[])', [[`${owner}/g1`, `${owner}/g2`]]);
      expect(rows[0]!.n).toBe(0);
      expect(await search('dna')).toEqual([]);
      const [hit] = await search('mitochondria');
      expect(hit!.score).toBeCloseTo(bm25(1, 2, 1, 2, (2 + 1) / 2), 10);
      expect(await db.transaction((tx) => removeDocument(tx, owner, 'gone'))).toBe(0);
    });

    it('removes one version of a document and keeps the others', async () => {
      await add([
        chunk(owner, 'doc', `${owner}/v1`, 'old wording of the claim', 1),
        chunk(owner, 'doc', `${owner}/v2`, 'new wording of the claim', 2),
      ]);
      expect(await db.transaction((tx) => removeDocumentVersion(tx, owner, 'doc', 1))).toBe(1);
      expect((await search('wording')).map((h) => [h.chunkId, h.version])).toEqual([[`${owner}/v2`, 2]]);
      expect(await search('old')).toEqual([]);
      expect(await countChunks(db, { ownerId: owner })).toBe(1);
      const { rows } = await db.query<{ chunk_count: string; total_length: string }>(
        'SELECT chunk_count, total_length FROM lexical_owner_stats WHERE owner_id = $1', [owner]);
      expect(rows).toEqual([{ chunk_count: '1', total_length: '3' }]); // new, word, claim
    });

    it('erases an owner: zero rows in every table, others untouched', async () => {
      const other = unique('other');
      await add([
        chunk(owner, 'd1', `${owner}/1`, 'personal diary entry'),
        chunk(owner, 'd2', `${owner}/2`, 'another diary page'),
        chunk(other, 'd1', `${other}/1`, 'diary of someone else'),
      ]);
      const before = await snapshot(db, other);
      expect(await db.transaction((tx) => removeOwner(tx, owner))).toBe(2);
      expect(await rowsOf(db, owner)).toEqual({ chunks: 0, postings: 0, stats: 0 });
      expect(await snapshot(db, other)).toEqual(before);
      expect(await search('diary')).toEqual([]);
    });

    it('drops the statistics row when the last chunk of an owner goes', async () => {
      await add([chunk(owner, 'only', `${owner}/1`, 'solitary chunk')]);
      await db.transaction((tx) => removeDocument(tx, owner, 'only'));
      expect(await rowsOf(db, owner)).toEqual({ chunks: 0, postings: 0, stats: 0 });
    });

    it('adds idempotently by chunk id', async () => {
      const chunks = [chunk(owner, 'd1', `${owner}/1`, 'vaccine efficacy trial'), chunk(owner, 'd1', `${owner}/2`, 'placebo group')];
      expect(await add(chunks)).toBe(2);
      const once = await snapshot(db, owner);
      expect(await add(chunks)).toBe(0);
      expect(await add([{ ...chunks[0]!, text: 'entirely different words' }, chunks[1]!, chunks[1]!])).toBe(0);
      expect(await snapshot(db, owner)).toEqual(once);
      expect(await add([chunks[0]!, chunks[0]!, chunk(owner, 'd1', `${owner}/3`, 'vaccine')])).toBe(1);
      expect(await countChunks(db, { ownerId: owner })).toBe(3);
    });

    it('writes nothing when one chunk of a batch is invalid, or when the caller\'s transaction rolls back', async () => {
      const bad = { ...chunk(owner, 'd1', `${owner}/bad`, 'text'), version: 0 };
      await expect(add([chunk(owner, 'd1', `${owner}/ok`, 'fine text'), bad])).rejects.toBeInstanceOf(LexicalIndexInputError);
      await expect(add([chunk(owner, 'd1', 'with\0nul', 'text')])).rejects.toBeInstanceOf(LexicalIndexInputError);
      await expect(db.transaction(async (tx) => {
        await addChunks(tx, [chunk(owner, 'd1', `${owner}/rolled`, 'rolled back')]);
        throw new Error('projection failed');
      })).rejects.toThrow('projection failed');
      expect(await rowsOf(db, owner)).toEqual({ chunks: 0, postings: 0, stats: 0 });
    });

    it('indexes hostile chunk text: huge words, other scripts, punctuation only, SQL', async () => {
      await add([
        chunk(owner, 'd1', `${owner}/huge`, `start ${'z'.repeat(200_000)} end`),
        chunk(owner, 'd1', `${owner}/unicode`, 'Größe 北京大学 emoji 🧬 ελλάδα'),
        chunk(owner, 'd1', `${owner}/empty`, '?!... ***'),
        chunk(owner, 'd1', `${owner}/sql`, "Robert'); DROP TABLE lexical_postings;--"),
      ]);
      expect(await countChunks(db, { ownerId: owner })).toBe(4);
      expect((await search('北京大学')).map((h) => h.chunkId)).toEqual([`${owner}/unicode`]);
      expect((await search('GRÖSSE größe')).map((h) => h.chunkId)).toEqual([`${owner}/unicode`]);
      expect((await search('drop table')).map((h) => h.chunkId)).toEqual([`${owner}/sql`]);
      expect((await search('end')).map((h) => h.chunkId)).toEqual([`${owner}/huge`]);
    });

    it('answers hostile queries without throwing: empty, stop words, huge, unicode, SQL-ish', async () => {
      await add([chunk(owner, 'd1', `${owner}/1`, 'insulin resistance in type 2 diabetes')]);
      expect(await search('')).toEqual([]);
      expect(await search('   \n\t ')).toEqual([]);
      expect(await search('the of and which')).toEqual([]);
      expect(await search('?!;--')).toEqual([]);
      expect(await search(undefined as unknown as string)).toEqual([]);
      expect(await search("' OR 1=1; DROP TABLE lexical_chunks; --")).toEqual([]);
      expect(await search('%insulin_ \\ $1 :: [] {}')).toHaveLength(1);
      expect(await search('🧬 北京 ∑ \u200b\ufeff ̈')).toEqual([]);
      const huge = `${'q'.repeat(2_000_000)} ${Array.from({ length: 5_000 }, (_, i) => `term${i}`).join(' ')} insulin`;
      expect(await search(huge)).toEqual([]); // insulin is past the first MAX_QUERY_TERMS distinct terms
      const many = `insulin ${Array.from({ length: MAX_QUERY_TERMS * 2 }, (_, i) => `word${i}`).join(' ')}`;
      expect((await search(many)).map((h) => h.chunkId)).toEqual([`${owner}/1`]);
      expect(await countChunks(db, { ownerId: owner })).toBe(1);
    });

    it('refuses invalid filters and options with a typed error', async () => {
      const refuse = (promise: Promise<unknown>) => expect(promise).rejects.toBeInstanceOf(LexicalIndexInputError);
      await refuse(searchLexical(db, 'x', { ownerId: '' }, { limit: 10 }));
      await refuse(searchLexical(db, 'x', { ownerId: owner }, { limit: 0 }));
      await refuse(searchLexical(db, 'x', { ownerId: owner }, { limit: 1.5 }));
      await refuse(searchLexical(db, 'x', { ownerId: owner }, { limit: 10, k1: Number.NaN }));
      await refuse(searchLexical(db, 'x', { ownerId: owner }, { limit: 10, b: 2 }));
      await refuse(searchLexical(db, 'x', { ownerId: owner, documentIds: [''] }, { limit: 10 }));
      await refuse(countChunks(db, { ownerId: 'a\0b' }));
      await refuse(db.transaction((tx) => removeDocumentVersion(tx, owner, 'd', -1)));
    });

    it('writes through the search_path, as a projection rebuild does', async () => {
      const schema = `lexical_rebuild_${counter}`;
      await db.exec(`CREATE SCHEMA ${schema}`);
      for (const table of ['lexical_chunks', 'lexical_postings', 'lexical_owner_stats']) {
        await db.exec(`CREATE TABLE ${schema}.${table} (LIKE public.${table} INCLUDING ALL)`);
      }
      await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL search_path TO ${schema}, public`);
        await addChunks(tx, [chunk(owner, 'd1', `${owner}/1`, 'rebuilt model')]);
      });
      expect(await countChunks(db, { ownerId: owner })).toBe(0);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.lexical_postings WHERE owner_id = $1`, [owner]);
      expect(rows[0]!.n).toBe(2);
      await db.exec(`DROP SCHEMA ${schema} CASCADE`);
    });
  });
}
