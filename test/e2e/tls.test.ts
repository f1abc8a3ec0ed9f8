// HTTPS served directly (TLS_CERT_FILE, TLS_KEY_FILE): `npm start`'s launcher with a certificate made
// here by openssl; GraphQL over https:// and graphql-ws over wss:// trusting only that certificate;
// plain HTTP on the same port gets no answer; bad TLS settings stop the start with one clear line.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { get } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { skipReason } from '../support/requirements.ts';
import { MAIN, removeTempDirs, START_TIMEOUT_MS, startServer, stopAllProcesses, tempDir, within, type ServerProcess } from './support.ts';

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
const skip = skipReason('HTTPS end to end', openssl ? undefined : 'openssl is not installed (it makes the test certificate)');

function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

function httpsPost(url: string, ca: Buffer, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the launcher until it exits (a start that must fail before taking the port); its exit code and output. */
function failedStart(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', DATA_DIR: tempDir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  return within(new Promise((resolve) => child.on('exit', (code) => resolve({ code, output }))), START_TIMEOUT_MS, 'the failed start to exit');
}

describe.skipIf(skip !== undefined)('HTTPS (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let server: ServerProcess;

  beforeAll(async () => {
    dir = tempDir();
    files = makeCertificate(dir, 'server');
    server = await startServer({ dataDir: tempDir(), env: { TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key } });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await stopAllProcesses();
    removeTempDirs();
  });

  it('announces an https:// address and answers GraphQL there, trusting only the configured certificate', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    const answer = await httpsPost(server.url, readFileSync(files.cert), JSON.stringify({ query: '{ __typename }' }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ data: { __typename: 'Query' } });
    // Another certificate is not the server's: the handshake fails.
    const other = makeCertificate(dir, 'other');
    await expect(httpsPost(server.url, readFileSync(other.cert), '{}')).rejects.toThrow(/self[- ]signed|verify|certificate/i);
  });

  it('graphql-ws works over wss:// on the same port', async () => {
    const socket = new WebSocket(server.url.replace(/^https/, 'wss'), 'graphql-transport-ws', { ca: readFileSync(files.cert) });
    const first = await within(new Promise<unknown>((resolve, reject) => {
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.once('error', reject);
    }), 20_000, 'connection_ack over wss');
    socket.close();
    expect(first).toEqual({ type: 'connection_ack' });
  });

  it('plain HTTP on the TLS port gets no GraphQL answer', async () => {
    const plain = server.url.replace(/^https/, 'http');
    const outcome = await within(new Promise<string>((resolve) => {
      const req = get(plain, (res) => { res.resume(); resolve(`status ${res.statusCode}`); });
      req.on('error', (error) => resolve(`error ${error.message}`));
    }), 20_000, 'plain HTTP attempt');
    // Node answers a plain request on a TLS socket with 400 and closes, or drops it; never with GraphQL.
    expect(outcome).toMatch(/^(status 400|error )/);
  });

  it('stops with one clear line, before taking the port, when a file is missing, not PEM, or the key is not the certificate\'s', async () => {
    const missing = await failedStart({ TLS_CERT_FILE: join(dir, 'nope.crt'), TLS_KEY_FILE: files.key });
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/TLS: TLS_CERT_FILE \(.*nope\.crt\) could not be read: ENOENT/);

    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    const notPem = await failedStart({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: files.key });
    expect(notPem.code).toBe(1);
    expect(notPem.output).toMatch(/TLS_CERT_FILE \(.*garbage\.pem\) is not a PEM certificate/);

    const other = makeCertificate(dir, 'mismatch');
    const mismatched = await failedStart({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: other.key });
    expect(mismatched.code).toBe(1);
    expect(mismatched.output).toMatch(/TLS_KEY_FILE is not the private key of the certificate in TLS_CERT_FILE/);

    const data = tempDir();
    const half = await failedStart({ TLS_CERT_FILE: files.cert, DATA_DIR: data });
    expect(half.code).toBe(1);
    expect(half.output).toMatch(/Invalid configuration: TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
    expect(existsSync(join(data, 'events.sqlite'))).toBe(false);
    const data2 = tempDir();
    expect((await failedStart({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: other.key, DATA_DIR: data2 })).code).toBe(1);
    expect(existsSync(join(data2, 'events.sqlite'))).toBe(false); // refused before any store was opened
  }, 4 * START_TIMEOUT_MS);
});
