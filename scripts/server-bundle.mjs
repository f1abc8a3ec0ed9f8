// The server as one ES module (esbuild), for `npm start`: loading ~1,100 separate modules (half of
// them @graphql-tools, through graphql-yoga) and type-stripping our TypeScript took about half of a
// warm start. Plain JavaScript on purpose: loading a .ts file first loads Node's type stripper.
//
// The bundle is a cache, made by `npm install` and remade by the launcher when a source file is
// newer; `node src/main.ts` always runs the sources directly.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ENTRY = join(ROOT, 'src/main.ts');
// One bundle per checkout: git worktrees that share one node_modules must not run each other's code.
export const OUT_DIR = join(ROOT, 'node_modules/.cache/evident/server', createHash('sha256').update(ROOT).digest('hex').slice(0, 12));
export const BUNDLE = join(OUT_DIR, 'main.mjs');
const bundleIn = (outDir) => join(outDir, 'main.mjs');
const manifestIn = (outDir) => join(outDir, 'manifest.json');
const FORMAT = 2;

// Left as separate modules: native addons, packages that find files or workers beside their own
// code (PGlite's WebAssembly, pino's transports, tesseract's data, llama.cpp's binaries), and those
// loaded only when configured or asked for (PostgreSQL, Redis, GraphiQL's 9 MB of assets).
const EXTERNAL = [
  '@electric-sql/*', '@node-rs/*', 'pino', 'pino-pretty', 'pg', 'ioredis', '@graphql-yoga/render-graphiql',
  'node-llama-cpp', 'tesseract.js', '@tesseract.js-data/*', 'unpdf', '@napi-rs/*', 'weaviate-client', '@kurrent/*',
];

/**
 * Our modules imported with import() because they load large packages used only when configured
 * (Weaviate's client, llama.cpp, KurrentDB's gRPC client and native bridge): left out of the bundle and loaded from the sources when asked for,
 * since an external package imported inside the bundle would be loaded at every start.
 */
const LAZY_SOURCES = [
  /\/src\/infra\/vector-index\/weaviate-index\.ts$/, /\/src\/infra\/embedders\/llama-cpp-embedder\.ts$/,
  /\/src\/infra\/event-store\/kurrentdb-event-store\.ts$/, /\/src\/infra\/tracing-setup\.ts$/, /\/src\/infra\/error-tracking-setup\.ts$/,
];

const lazySources = {
  name: 'lazy-sources',
  setup(build) {
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const path = join(args.resolveDir, args.path);
      if (!LAZY_SOURCES.some((pattern) => pattern.test(path))) return undefined;
      return { path: pathToFileURL(path).href, external: true };
    });
  },
};

/**
 * Our modules find files next to themselves (migrations, SQL, worker scripts) through
 * import.meta.url; in the bundle each keeps its own source location, so those paths stay right.
 */
const keepModuleUrls = {
  name: 'keep-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * V8 keeps a script's source for as long as the script lives, one byte per character when every
 * character is Latin-1 and two otherwise: a single "—" in a comment doubled the 11 MB bundle's
 * share of the idle resident set. esbuild already escapes every non-ASCII character in code
 * (charset 'ascii'); what remains is in comments, where an escape sequence is as good.
 */
export function asciiOnly(source) {
  return source.replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Builds the bundle and its manifest (the source files it was made from) in `outDir` (the
 * checkout's own, unless a test asks for another); atomic, so concurrent builders are safe.
 */
export async function buildServerBundle(outDir = OUT_DIR) {
  const bundle = bundleIn(outDir);
  const manifest = manifestIn(outDir);
  const { build, stop } = await import('esbuild');
  // Sources edited while the build reads them must count as newer than the bundle.
  const startedAt = Date.now();
  mkdirSync(outDir, { recursive: true });
  const temp = `${bundle}.${randomBytes(4).toString('hex')}.tmp`;
  const result = await build({
    entryPoints: [ENTRY], outfile: temp, bundle: true, platform: 'node', format: 'esm', target: 'node24',
    external: EXTERNAL, charset: 'ascii', metafile: true, logLevel: 'error', legalComments: 'none', plugins: [lazySources, keepModuleUrls],
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __evidentCreateRequire } from 'node:module'; const require = __evidentCreateRequire(import.meta.url);" },
  }).finally(() => stop()); // esbuild's service process must not outlive the build: the server runs on in this process
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules/')).map((input) => join(ROOT, input));
  writeFileSync(temp, asciiOnly(readFileSync(temp, 'utf8')));
  renameSync(temp, bundle);
  const manifestTemp = `${manifest}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(manifestTemp, JSON.stringify({ format: FORMAT, node: process.version, startedAt, inputs: [...inputs, join(ROOT, 'package-lock.json')] }));
  renameSync(manifestTemp, manifest);
  return bundle;
}

/** True when the bundle in `outDir` exists and none of the files it was made from (nor the lockfile) changed since. */
export function serverBundleIsFresh(outDir = OUT_DIR) {
  try {
    const manifest = JSON.parse(readFileSync(manifestIn(outDir), 'utf8'));
    if (manifest.format !== FORMAT || manifest.node !== process.version) return false;
    statSync(bundleIn(outDir));
    return manifest.inputs.every((input) => statSync(input).mtimeMs < manifest.startedAt);
  } catch {
    return false; // no bundle, no manifest, or a source file gone
  }
}

// `node scripts/server-bundle.mjs` (from npm install): build it, never failing the install.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildServerBundle();
    console.log(`Server bundle: made ${BUNDLE}`);
  } catch (error) {
    console.log(`Server bundle: not made (${error.message}); npm start runs the sources`);
  }
}
