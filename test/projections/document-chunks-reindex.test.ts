// An install whose lexical index was cut by an older analyzer is re-indexed at its next start: the
// chunks projection's version is the analyzer's (tokenize.ts ANALYZER_VERSION), and a read model
// built by a lower version is rebuilt from the log and swapped in (Projection.version).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteReadDb } from '../../src/infra/read-db/pglite-read-db.ts';
import { searchLexical } from '../../src/infra/retrieval/lexical/lexical-index.ts';
import { ANALYZER_VERSION, tokenize } from '../../src/infra/retrieval/lexical/tokenize.ts';
import { createDocumentChunksProjection } from '../../src/projections/document-chunks-projection.ts';
import { ProjectionRunner } from '../../src/projections/runner.ts';
import { utf8 } from '../infra/extraction/fixtures.ts';
import { eventually } from './runner.contract.ts';
import { OWNER, startPipeline, type Pipeline } from './ingestion/pipeline-harness.ts';

describe('the chunks projection after an analyzer change', () => {
  let db: PgliteReadDb;
  let p: Pipeline;
  beforeAll(async () => {
    db = await PgliteReadDb.open();
    p = await startPipeline({ readDb: db, vectorIndex: null, embedder: null });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await db?.close();
  });

  it('has the analyzer’s version, and a model cut by an older analyzer is rebuilt with the current one at start', async () => {
    expect(createDocumentChunksProjection({ blobs: p.blobs }).version).toBe(ANALYZER_VERSION);
    const doc = await p.upload('notes.md', 'text/markdown', utf8('# Clinic\n\nVitamin D and type 2 diabetes in the clinic.'));
    expect((await p.settled(doc.documentId)).type).toBe('DocumentIndexed');
    await p.projections.stop();
    const terms = async () => (await db.query<{ term: string }>(
      'SELECT DISTINCT term FROM lexical_postings WHERE owner_id = $1 ORDER BY term', [OWNER])).rows.map((row) => row.term);
    const current = await terms();
    expect(current).toEqual([...new Set(tokenize('Clinic Vitamin D and type 2 diabetes in the clinic.'))].sort());

    // What an install indexed by the analyzer before holds: its one-character terms, and the version it was built by.
    const { rows } = await db.query<{ chunk_id: string; length: number }>('SELECT chunk_id, length FROM lexical_chunks WHERE owner_id = $1', [OWNER]);
    for (const row of rows) {
      await db.query('INSERT INTO lexical_postings (owner_id, term, chunk_id, tf, length) VALUES ($1, $2, $3, 1, $4), ($1, $5, $3, 1, $4)',
        [OWNER, 'd', row.chunk_id, row.length, '2']);
    }
    await db.query(`UPDATE projection_checkpoints SET version = $2 WHERE name = $1`, ['document-chunks', ANALYZER_VERSION - 1]);
    expect(await terms()).toContain('d');

    const runner = new ProjectionRunner({
      store: p.store, db, projections: [createDocumentChunksProjection({ blobs: p.blobs })], logger: pino({ level: 'silent' }), idlePollMs: 20,
    });
    try {
      await runner.start();
      // The checkpoint is at the head already, so waitFor would not wait: wait for the swap's version instead.
      await eventually(async () => ((await db.query<{ version: number }>(
        'SELECT version FROM projection_checkpoints WHERE name = $1', ['document-chunks'])).rows[0]!.version === ANALYZER_VERSION ? true : undefined),
      60_000, 'the rebuild of the chunks projection');
      expect(await terms()).toEqual(current);
      expect((await runner.status()).find((s) => s.name === 'document-chunks')?.state).toBe('running');
      expect((await searchLexical(db, 'diabetes type', { ownerId: OWNER }, { limit: 5 }))[0]?.documentId).toBe(doc.documentId);
    } finally {
      await runner.stop();
    }
  }, 120_000);
});
