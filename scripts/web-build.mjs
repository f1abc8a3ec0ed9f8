// The web app's build (web/ → web/dist/, served at `/` by src/graphql/web-app.ts), made by
// `npm install` and remade by `npm start` when a file under web/ changed since. A hash of the
// sources is kept beside the output, so an unchanged app is not rebuilt.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = join(ROOT, 'web');
export const DIST = join(WEB, 'dist');
const STAMP = join(DIST, '.sources-sha256');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'dist' || entry.name.startsWith('.dist-') || entry.name === 'node_modules' ? [] : files(path);
    return [path];
  });
}

export function sourcesHash() {
  const hash = createHash('sha256');
  for (const path of [...files(WEB), join(ROOT, 'package-lock.json')].sort()) {
    hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
  }
  return hash.digest('hex');
}

export function webBuildIsFresh() {
  return existsSync(join(DIST, 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === sourcesHash();
}

/** Builds with Vite (a dev dependency); throws when it is not installed. */
export async function buildWeb() {
  const require = createRequire(import.meta.url);
  let vite;
  try {
    require.resolve('vite');
    vite = await import('vite');
  } catch {
    throw new Error('vite is not installed (npm install without --omit=dev)');
  }
  const hash = sourcesHash();
  // Always the production build (React's development build is larger and slower), whatever
  // NODE_ENV the caller runs with (the tests start the server with NODE_ENV=test).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  // Built beside dist/ and swapped in: a server (or a second build) reading dist/ meanwhile never
  // sees a half-written app.
  const suffix = randomBytes(6).toString('hex');
  const next = join(WEB, `.dist-${suffix}`);
  const previous = join(WEB, `.dist-old-${suffix}`);
  try {
    await vite.build({ root: WEB, configFile: join(WEB, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir: next, emptyOutDir: true } });
    writeFileSync(join(next, '.sources-sha256'), hash);
    if (existsSync(DIST)) renameSync(DIST, previous);
    renameSync(next, DIST);
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
    rmSync(next, { recursive: true, force: true });
    rmSync(previous, { recursive: true, force: true });
  }
  return DIST;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  if (!force && webBuildIsFresh()) {
    console.log('web app: up to date');
  } else {
    const started = Date.now();
    try {
      await buildWeb();
      console.log(`web app: built into web/dist in ${Date.now() - started} ms`);
    } catch (error) {
      console.error(`web app: not built (${error.message})`);
      process.exitCode = force ? 1 : 0;
    }
  }
}
