// A fresh PGlite database costs an initdb: seconds of CPU, most of a first start. So a database made
// once (initdb, then the vector extension, then a clean shutdown) is kept and copied instead: as a
// directory for a data directory on disk (a plain file copy, much faster than PGlite's own tarball
// loader), and as a tarball for an in-memory database (`loadDataDir`). `npm install` makes both (the
// postinstall script runs this file); without them a fresh database runs initdb as before. The names
// carry the PGlite and pgvector versions, so an upgrade never starts from a template of another build.
import { cpSync, existsSync, mkdirSync, openAsBlob, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/evident/', import.meta.url));

function packageVersion(name: string): string {
  // Resolves to <package>/dist/index.js; the package.json is not exported, so read it beside dist/.
  const entry = fileURLToPath(import.meta.resolve(name));
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export interface TemplatePaths {
  /** A cleanly shut-down data directory. */
  dir: string;
  /** The same database as PGlite's gzipped tarball. */
  tarball: string;
}

/** Where the templates for the installed PGlite and pgvector live. */
export function templatePaths(cacheDir = CACHE_DIR): TemplatePaths {
  const base = join(cacheDir, `pglite-${packageVersion('@electric-sql/pglite')}-pgvector-${packageVersion('@electric-sql/pglite-pgvector')}`);
  return { dir: base, tarball: `${base}.tar.gz` };
}

/**
 * Options for PGlite.create that start a fresh database from the template. A data directory that
 * does not exist or is empty is filled by a copy made beside it and renamed into place, so that it is
 * never left half-copied; an existing database, or a missing template, gives no options.
 */
export async function fromTemplate(dataDir: string | undefined, paths = templatePaths()): Promise<{ loadDataDir?: Blob }> {
  if (dataDir === undefined) {
    return existsSync(paths.tarball) ? { loadDataDir: await openAsBlob(paths.tarball, { type: 'application/x-gzip' }) } : {};
  }
  if (!existsSync(paths.dir) || (existsSync(dataDir) && readdirSync(dataDir).length > 0)) return {};
  const partial = `${dataDir}.${process.pid}.partial`;
  try {
    cpSync(paths.dir, partial, { recursive: true });
    rmSync(dataDir, { recursive: true, force: true });
    renameSync(partial, dataDir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return {};
}

/** Makes both templates, each written beside its place and renamed into it: a reader never sees half of one. */
export async function makeTemplates(paths = templatePaths()): Promise<void> {
  mkdirSync(dirname(paths.dir), { recursive: true });
  const partialDir = `${paths.dir}.${process.pid}.partial`;
  const partialTarball = `${paths.tarball}.${process.pid}.partial`;
  try {
    const pg = await PGlite.create(partialDir, { extensions: { vector } });
    try {
      await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
      writeFileSync(partialTarball, Buffer.from(await (await pg.dumpDataDir('gzip')).arrayBuffer()));
    } finally {
      await pg.close();
    }
    renameSync(partialDir, paths.dir);
    renameSync(partialTarball, paths.tarball);
  } finally {
    rmSync(partialDir, { recursive: true, force: true });
    rmSync(partialTarball, { force: true });
  }
}

if (import.meta.main) {
  const paths = templatePaths();
  if (existsSync(paths.dir) && existsSync(paths.tarball)) {
    console.log(`PGlite template: ${paths.dir} is already there`);
  } else {
    try {
      rmSync(paths.dir, { recursive: true, force: true });
      await makeTemplates(paths);
      console.log(`PGlite template: made ${paths.dir} (a fresh read-model database starts from a copy)`);
    } catch (error) {
      // Never fail the install for it: without a template a first start is only slower.
      console.warn(`PGlite template: not made (${(error as Error).message}); a fresh read-model database will run initdb instead`);
    }
  }
}
