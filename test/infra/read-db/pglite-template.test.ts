import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromTemplate, makeTemplates, templatePaths, type TemplatePaths } from '../../../src/infra/read-db/pglite-template.ts';

const root = mkdtempSync(join(tmpdir(), 'evident-template-'));
let paths: TemplatePaths;

beforeAll(async () => {
  paths = templatePaths(join(root, 'cache'));
  await makeTemplates(paths);
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function vectorVersion(pg: PGlite): Promise<string | undefined> {
  const { rows } = await pg.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
  return rows[0]?.extversion;
}

describe('PGlite template', () => {
  it('is named after the installed PGlite and pgvector versions, and leaves no partial files behind', () => {
    expect(paths.dir).toMatch(/pglite-\d+\.\d+\.\d+-pgvector-\d+\.\d+\.\d+$/);
    expect(paths.tarball).toBe(`${paths.dir}.tar.gz`);
    expect(readdirSync(join(root, 'cache')).sort()).toEqual([paths.dir, paths.tarball].map((p) => p.split('/').pop()).sort());
    expect(existsSync(join(paths.dir, 'PG_VERSION'))).toBe(true);
  });

  it('fills a missing data directory with a copy that PGlite opens as it is, with the vector extension', async () => {
    const dataDir = join(root, 'fresh');
    expect(await fromTemplate(dataDir, paths)).toEqual({});
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(root).filter((name) => name.includes('partial'))).toEqual([]);
    const pg = await PGlite.create(dataDir, { extensions: { vector } });
    try {
      expect(await vectorVersion(pg)).toMatch(/^\d+\.\d+/);
      await pg.exec('CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)');
    } finally {
      await pg.close();
    }
    // A database that exists is never replaced.
    expect(await fromTemplate(dataDir, paths)).toEqual({});
    const again = await PGlite.create(dataDir, { extensions: { vector } });
    try {
      expect((await again.query('SELECT id FROM kept')).rows).toEqual([{ id: 1 }]);
    } finally {
      await again.close();
    }
  });

  it('fills an empty data directory too, but leaves a directory with anything in it alone', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await fromTemplate(empty, paths);
    expect(existsSync(join(empty, 'PG_VERSION'))).toBe(true);

    const used = join(root, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'something'), 'x');
    await fromTemplate(used, paths);
    expect(readdirSync(used)).toEqual(['something']);
  });

  it('gives an in-memory database the tarball to load', async () => {
    const options = await fromTemplate(undefined, paths);
    expect(options.loadDataDir).toBeInstanceOf(Blob);
    const pg = await PGlite.create({ extensions: { vector }, ...options });
    try {
      expect(await vectorVersion(pg)).toMatch(/^\d+\.\d+/);
    } finally {
      await pg.close();
    }
  });

  it('without a template: no options, and the data directory is not touched (PGlite runs initdb as before)', async () => {
    const none = templatePaths(join(root, 'no-cache'));
    const dataDir = join(root, 'untouched');
    expect(await fromTemplate(dataDir, none)).toEqual({});
    expect(await fromTemplate(undefined, none)).toEqual({});
    expect(existsSync(dataDir)).toBe(false);
  });
});
