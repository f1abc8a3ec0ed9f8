import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

export type TrustProxy = boolean | number | string[];
export type TrustFn = (address: string, hop: number) => boolean;

/** The same reading of a `trust proxy` value as express's, for the WebSocket upgrade request too. */
export function compileTrust(value: TrustProxy): TrustFn {
  if (value === true) return () => true;
  if (value === false) return () => false;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return proxyAddr.compile(value);
}

/** The client's address: the socket's, or the nearest X-Forwarded-For entry not from a trusted proxy. */
export function clientAddressOf(request: IncomingMessage, trust: TrustFn): string | null {
  if (!request.socket?.remoteAddress) return null;
  return proxyAddr(request, trust);
}
