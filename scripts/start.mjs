// `npm start`: runs the server from its bundle (scripts/server-bundle.mjs), remade first when a
// source file changed since, or from the sources when no bundle can be made (esbuild not installed).
import { enableCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// Before anything else loads: Node's compile cache keeps the compiled bundle between starts.
enableCompileCache();
// PostgreSQL's start inside PGlite runs much of its WebAssembly a few times over; V8's default
// tiering budget then recompiles it with TurboFan in the background, which on a 2-core machine
// cost about as much CPU again as the start itself (docs/benchmarks.md). A higher budget keeps
// code that runs only at start on the baseline compiler; code that stays hot is still optimised.
setFlagsFromString('--wasm-tiering-budget=100000000');

const { BUNDLE, ENTRY, buildServerBundle, serverBundleIsFresh } = await import('./server-bundle.mjs');

async function entry() {
  if (serverBundleIsFresh()) return BUNDLE;
  try {
    return await buildServerBundle();
  } catch (error) {
    console.error(`Running the sources: the server bundle could not be made (${error.message})`);
    return ENTRY;
  }
}

// The web app too, when a file under web/ changed since it was built (vite is a dev dependency:
// without it the last build is served, or a page saying how to build one).
const web = await import('./web-build.mjs');
if (!web.webBuildIsFresh()) {
  await web.buildWeb().catch((error) => console.error(`The web app was not rebuilt (${error.message})`));
}

await import(pathToFileURL(await entry()).href);
