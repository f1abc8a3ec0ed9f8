import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT_TIMEOUT_MS, createPool } from '../../src/infra/postgres-pool.ts';
import { isConnectionFailure } from '../../src/infra/store-unavailable.ts';

describe('createPool', () => {
  // Accepts TCP connections and never answers: a server that hangs, or a network that drops packets.
  let blackHole: Server;
  let port: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    port = (blackHole.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('gives up connecting after CONNECT_TIMEOUT_MS with an error classified as a connection failure', async () => {
    const pool = createPool({ connectionString: `postgres://nobody@127.0.0.1:${port}/none`, max: 1 });
    try {
      // A hang would fail this test by the test timeout, which is far above CONNECT_TIMEOUT_MS.
      const error = await pool.query('SELECT 1').then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(isConnectionFailure(error), String(error)).toBe(true);
      expect(CONNECT_TIMEOUT_MS).toBeLessThan(10_000);
    } finally {
      await pool.end();
    }
  });

  it('a refused connection is a connection failure too', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const pool = createPool({ connectionString: `postgres://nobody@127.0.0.1:${freePort}/none`, max: 1 });
    try {
      const error = await pool.query('SELECT 1').then(() => undefined, (e: unknown) => e);
      expect((error as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isConnectionFailure(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});
