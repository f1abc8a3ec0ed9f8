// The launcher of `npm start` and the server bundle it runs (scripts/start.mjs, scripts/server-bundle.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain JavaScript module without type declarations
import { asciiOnly, BUNDLE, buildServerBundle, serverBundleIsFresh } from '../../scripts/server-bundle.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = join(ROOT, 'scripts/start.mjs');
const ADDRESS_LINE = /^Evident is listening on (http:\/\/\S+)$/;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'evident-start-'));
  dirs.push(dir);
  return dir;
}

function startServer(env: Record<string, string> = {}) {
  const dataDir = tempDir();
  const child = spawn(process.execPath, [START], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const address = ADDRESS_LINE.exec(line);
      if (address) resolve(address[1]!);
    });
    void exited.then((code) => reject(new Error(`exited (${code}) before ready: ${stderr}`)));
  });
  return { child, ready, exited, stderr: () => stderr };
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return await response.json() as { data?: Record<string, unknown>; errors?: Array<{ extensions: { code: string } }> };
}

describe('the server bundle (int)', () => {
  // These build into a directory of their own: other test files start the server from the
  // checkout's bundle meanwhile, and must not find it stale nor see it remade under them.
  it('is stale once a source file it was made from is newer, and fresh again after a build', async () => {
    const outDir = tempDir();
    expect(serverBundleIsFresh(outDir)).toBe(false);
    await buildServerBundle(outDir);
    expect(serverBundleIsFresh(outDir)).toBe(true);
    const manifestFile = join(outDir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { inputs: string[]; startedAt: number };
    expect(manifest.inputs).toContain(join(ROOT, 'src/infra/read-db/migrations.ts'));
    // As if the newest of its sources had been edited just as the build began: not before it, so not in it.
    const newest = Math.max(...manifest.inputs.map((input) => statSync(input).mtimeMs));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, startedAt: newest }));
    expect(serverBundleIsFresh(outDir)).toBe(false);
    await buildServerBundle(outDir);
    expect(serverBundleIsFresh(outDir)).toBe(true);
    // The checkout's own bundle is another one.
    expect(join(outDir, 'main.mjs')).not.toBe(BUNDLE);
  });

  it('is plain ASCII, so V8 holds its source at one byte a character, not two', async () => {
    const source = readFileSync(await buildServerBundle(tempDir()), 'utf8');
    expect(source.length).toBeGreaterThan(1_000_000);
    expect(source.match(/[\u0080-\uffff]/)).toBeNull();
  });

  it('escapes what esbuild leaves outside ASCII (comments) without changing what a string means', () => {
    expect(asciiOnly('// a dash \u2014 and a wave \u{1F44B}\nconst x = 1;')).toBe('// a dash \\u2014 and a wave \\ud83d\\udc4b\nconst x = 1;');
    const escaped = asciiOnly('"caf\u00e9 \u{1F44B}"');
    expect(escaped).toBe('"caf\\u00e9 \\ud83d\\udc4b"');
    expect(JSON.parse(escaped)).toBe('caf\u00e9 \u{1F44B}');
  });

  it('npm start runs the bundle: it serves GraphQL, registers an account (argon2, PGlite, SQLite) and stops cleanly', async () => {
    if (!serverBundleIsFresh()) await buildServerBundle();
    const builtAt = statSync(BUNDLE).mtimeMs;
    const server = startServer();
    const url = await server.ready;
    const registered = await gql(url, `mutation ($email: String!, $password: String!, $displayName: String!) {
      register(email: $email, password: $password, displayName: $displayName) { role active } }`,
    { email: 'bundle@example.com', password: 'correct horse battery staple', displayName: 'Bundle' });
    expect(registered.errors).toBeUndefined();
    expect(registered.data).toEqual({ register: { role: 'admin', active: true } });
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // It ran the bundle as it was, without remaking it.
    expect(statSync(BUNDLE).mtimeMs).toBe(builtAt);
  });
});
