import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
const keepUrls = {
  name: 'keep-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};
const t = performance.now();
const r = await build({
  entryPoints: ['src/main.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node24',
  outfile: 'node_modules/.cache/evident/server/main.mjs', metafile: true, logLevel: 'warning',
  packages: 'bundle',
  external: ['@electric-sql/*', '@node-rs/*', 'pino', 'pino-pretty', 'pg', 'ioredis', '@graphql-yoga/render-graphiql', 'node-llama-cpp', 'tesseract.js'],
  banner: { js: "import { createRequire as __evidentRequire } from 'node:module'; const require = __evidentRequire(import.meta.url);" },
  plugins: [keepUrls], splitting: false,
});
console.log('built in', (performance.now() - t).toFixed(0), 'ms', Object.keys(r.metafile.inputs).length, 'inputs');
