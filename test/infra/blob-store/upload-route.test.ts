import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../src/infra/blob-store/local-blob-store.ts';
import type { BlobStore, PutOptions, StoredBlob } from '../../../src/infra/blob-store/port.ts';
import { createUploadRouter, type UploadMeta } from '../../../src/infra/blob-store/upload-route.ts';
import { PersonalDataCodec } from '../../../src/infra/personal-data/codec.ts';
import { SqliteKeyStore } from '../../../src/infra/personal-data/sqlite-key-store.ts';

const MAX = 256 * 1024;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The real LocalBlobStore, watched: how many bytes each put has pulled from the request, and how each
 * put ended, so tests can wait on those events instead of on time.
 */
class WatchedBlobStore {
  readonly inner: BlobStore;
  pulled = 0;
  private pullWaiters: { bytes: number; resolve: () => void }[] = [];
  settled: Promise<unknown>[] = [];

  constructor(inner: BlobStore) {
    this.inner = inner;
  }

  untilPulled(bytes: number): Promise<void> {
    if (this.pulled >= bytes) return Promise.resolve();
    return new Promise((resolve) => this.pullWaiters.push({ bytes, resolve }));
  }

  readonly store: BlobStore = new Proxy({} as BlobStore, {
    get: (_target, property: keyof BlobStore) => {
      if (property !== 'put') return (this.inner[property] as (...args: unknown[]) => unknown).bind(this.inner);
      return (ownerId: string, bytes: AsyncIterable<Uint8Array>, options: PutOptions) => {
        const counted = this.count(bytes);
        const put = this.inner.put(ownerId, counted, options);
        this.settled.push(put.then(() => 'stored', (error: Error) => error));
        return put;
      };
    },
  });

  private async *count(bytes: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of bytes) {
      this.pulled += chunk.length;
      for (const waiter of this.pullWaiters.filter((w) => this.pulled >= w.bytes)) waiter.resolve();
      yield chunk;
    }
  }
}

interface Reply { status: number; headers: IncomingMessage['headers']; body: unknown }

async function replyOf(response: IncomingMessage): Promise<Reply> {
  const parts: Buffer[] = [];
  for await (const part of response) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return { status: response.statusCode!, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

describe('upload route', () => {
  let dir: string;
  let keyStore: SqliteKeyStore;
  let codec: PersonalDataCodec;
  let watched: WatchedBlobStore;
  let server: Server;
  let base: URL;
  const stored: { userId: string; blob: StoredBlob; meta: UploadMeta }[] = [];
  const unexpected: unknown[] = [];
  let failNext: Error | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evident-upload-'));
    keyStore = new SqliteKeyStore(':memory:');
    codec = new PersonalDataCodec({ keyStore, masterKey: randomBytes(32), rules: {} });
    watched = new WatchedBlobStore(await LocalBlobStore.open({ dir, keys: codec }));
    const web = express();
    web.use(createUploadRouter({
      authenticate: async (req) => {
        const token = req.headers.authorization?.replace(/^Bearer /, '');
        return token?.startsWith('token-') ? { userId: token.slice('token-'.length) } : null;
      },
      blobs: watched.store,
      maxBytes: MAX,
      onStored: async (userId, blob, meta) => {
        if (failNext) {
          const error = failNext;
          failNext = undefined;
          throw error;
        }
        stored.push({ userId, blob, meta });
        return { id: `doc-${stored.length}`, ...blob, ...meta };
      },
      onError: (error) => unexpected.push(error),
    }));
    server = web.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/uploads`);
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await watched?.inner.close();
    await keyStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    stored.length = 0;
    unexpected.length = 0;
    watched.pulled = 0;
    watched.settled = [];
  });

  /** Files the store holds, temp files included. */
  const files = () => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;

  const headers = (user = 'alice', name = 'report.pdf') => ({
    authorization: `Bearer token-${user}`, 'x-file-name': encodeURIComponent(name), 'content-type': 'application/pdf',
  });

  it('stores the body and answers with what onStored returns', async () => {
    const bytes = randomBytes(200_000);
    const response = await fetch(base, {
      method: 'POST', body: bytes,
      headers: { ...headers('alice', 'Résumé 2026 (final).pdf'), 'content-type': 'Application/PDF; charset=binary' },
    });
    expect(response.status).toBe(201);
    const expected = { sha256: sha(bytes), size: bytes.length, name: 'Résumé 2026 (final).pdf', declaredMediaType: 'application/pdf' };
    expect(await response.json()).toEqual({ id: 'doc-1', ...expected });
    expect(stored).toEqual([{ userId: 'alice', blob: { sha256: sha(bytes), size: bytes.length }, meta: { name: expected.name, declaredMediaType: 'application/pdf' } }]);
    expect((await watched.inner.readAll('alice', sha(bytes), MAX)).equals(bytes)).toBe(true);
  });

  it('takes a streamed body without Content-Length, exactly at the limit, and an empty one', async () => {
    const bytes = randomBytes(MAX);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 10_000) controller.enqueue(bytes.subarray(offset, offset + 10_000));
        controller.close();
      },
    });
    const response = await fetch(base, { method: 'POST', body, duplex: 'half', headers: headers('bob') } as RequestInit);
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ sha256: sha(bytes), size: MAX });
    const empty = await fetch(base, { method: 'POST', body: new Uint8Array(0), headers: headers('bob', 'empty.txt') });
    expect(empty.status).toBe(201);
    expect(await empty.json()).toMatchObject({ size: 0, name: 'empty.txt' });
  });

  it('defaults the media type to application/octet-stream', async () => {
    const response = await fetch(base, {
      method: 'POST', body: new Uint8Array([1, 2, 3]),
      headers: { authorization: 'Bearer token-carol', 'x-file-name': 'a.bin' },
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ declaredMediaType: 'application/octet-stream' });
  });

  it('refuses an unauthenticated request with 401 and stores nothing', async () => {
    const before = files();
    for (const authorization of [undefined, 'Bearer wrong']) {
      const response = await fetch(base, {
        method: 'POST', body: randomBytes(100), headers: { ...headers(), ...(authorization ? { authorization } : { authorization: '' }) },
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ errors: [{ message: 'Not authenticated', extensions: { code: 'UNAUTHENTICATED' } }] });
    }
    expect(files()).toBe(before);
    expect(watched.settled).toEqual([]);
  });

  it('refuses a Content-Length over the limit before reading any of the body', async () => {
    // Only the headers are sent: the answer cannot depend on the body.
    const req = request(base, { method: 'POST', headers: { ...headers(), 'content-length': String(MAX + 1) } });
    req.flushHeaders();
    const [response] = await once(req, 'response') as [IncomingMessage];
    const reply = await replyOf(response);
    req.destroy();
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body).toEqual({
      errors: [{
        message: `The file exceeds the upload limit of ${MAX} bytes`,
        extensions: { code: 'BAD_USER_INPUT', limit: 'MAX_UPLOAD_BYTES', maxBytes: MAX },
      }],
    });
    expect(watched.settled).toEqual([]);
  });

  it('cuts off a body without Content-Length that grows past the limit, and stores nothing', async () => {
    const before = files();
    const req = request(base, { method: 'POST', headers: headers('dave') }); // chunked
    req.on('error', () => {}); // the server may close while we are still writing
    let ended = false;
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('close', () => reject(new Error('closed without an answer')));
    }).finally(() => { ended = true; });
    response.catch(() => {});
    let sent = 0;
    while (!ended && sent < 100 * MAX) {
      if (!req.write(randomBytes(16 * 1024))) await Promise.race([once(req, 'drain'), response.catch(() => {})]);
      sent += 16 * 1024;
    }
    const reply = await replyOf(await response);
    req.destroy();
    expect(reply.status).toBe(413);
    expect(reply.body).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT', limit: 'MAX_UPLOAD_BYTES' } }] });
    expect(await Promise.all(watched.settled)).toMatchObject([{ name: 'BlobTooLargeError' }]);
    expect(files()).toBe(before);
    expect(stored).toEqual([]);
    expect(await watched.inner.deleteOwner('dave')).toBe(0);
  });

  it('stores nothing when the client disconnects midway, and streams rather than buffers', async () => {
    const before = files();
    const req = request(base, { method: 'POST', headers: { ...headers('erin'), 'content-length': String(MAX) } });
    req.on('error', () => {});
    req.write(randomBytes(MAX / 2));
    // The store already has bytes while the request is still incomplete: nothing waits for the whole body.
    await watched.untilPulled(64 * 1024);
    req.destroy();
    const [outcome] = await Promise.all(watched.settled);
    expect(outcome).toBeInstanceOf(Error);
    expect(files()).toBe(before);
    expect(stored).toEqual([]);
    expect(await watched.inner.deleteOwner('erin')).toBe(0);
    expect(unexpected).toEqual([]);
  });

  it.each([
    ['no file name', undefined, /must name the file/],
    ['a malformed encoding', '%E0%A4%A', /percent-encoded/],
    ['a NUL', encodeURIComponent('a\0b.pdf'), /control characters/],
    ['a newline', encodeURIComponent('a\nb.pdf'), /control characters/],
    ['a lone surrogate', '%ED%A0%80', /percent-encoded/],
    ['256 characters', 'x'.repeat(256), /1 to 255/],
  ])('refuses %s in X-File-Name with 400, before reading the body', async (_label, name, message) => {
    const response = await fetch(base, {
      method: 'POST', body: randomBytes(10),
      headers: { authorization: 'Bearer token-frank', ...(name === undefined ? {} : { 'x-file-name': name }) },
    });
    expect(response.status).toBe(400);
    const body = await response.json() as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0]!.message).toMatch(message);
    expect(watched.settled).toEqual([]);
  });

  it('accepts a name of exactly 255 characters, counted as characters', async () => {
    const name = '📄'.repeat(255);
    const response = await fetch(base, { method: 'POST', body: randomBytes(10), headers: headers('gina', name) });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ name });
  });

  it('refuses a Content-Type that is not a media type', async () => {
    const response = await fetch(base, { method: 'POST', body: randomBytes(10), headers: { ...headers(), 'content-type': 'text/<b>' } });
    expect(response.status).toBe(400);
    expect(watched.settled).toEqual([]);
  });

  it('refuses an erased user with 403', async () => {
    await codec.erase('hank');
    const response = await fetch(base, { method: 'POST', body: randomBytes(10), headers: headers('hank') });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });

  it('passes on a coded refusal from onStored, and masks anything else', async () => {
    failNext = Object.assign(new Error('Too many documents'), { extensions: { code: 'BAD_USER_INPUT' } });
    const refused = await fetch(base, { method: 'POST', body: randomBytes(10), headers: headers('ivan') });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ errors: [{ message: 'Too many documents', extensions: { code: 'BAD_USER_INPUT' } }] });
    const secret = new Error('connection string with a password');
    failNext = secret;
    const failed = await fetch(base, { method: 'POST', body: randomBytes(10), headers: headers('ivan') });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ errors: [{ message: 'Unexpected error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(unexpected).toEqual([secret]);
  });
});
