// `npm start`: runs the server from its bundle (scripts/server-bundle.mjs), remade first when a
// source file changed since, or from the sources when no bundle can be made (esbuild not installed).
import { enableCompileCache } from 'node:module';
import { pathToFileURL } from 'node:url';

// Before anything else loads: Node's compile cache keeps the compiled bundle between starts.
enableCompileCache();

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

await import(pathToFileURL(await entry()).href);
