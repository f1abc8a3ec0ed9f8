// Writes of the fake providers' streamed responses (fake-openai-server.ts, fake-provider-servers.ts).
import type { ServerResponse } from 'node:http';

/** Writes with backpressure; resolves early if the connection closes. */
export function write(res: ServerResponse, data: string): Promise<void> {
  if (res.destroyed || data === '') return Promise.resolve();
  return new Promise((resolve) => {
    if (res.write(data)) return resolve();
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes and waits until the chunk has reached the socket, for a write the socket is ended right
 * after: Node 26 may still hold a chunk in the response when `write` returns true, and ending the
 * socket under it then drops the chunk (the client read one delta, not two).
 */
export function writeFlushed(res: ServerResponse, data: string): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    res.write(data, () => resolve());
  });
}
