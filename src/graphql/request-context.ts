import { AsyncLocalStorage } from 'node:async_hooks';

/** What the logs and the throttle need to know about the HTTP request or WebSocket operation being served. */
export interface RequestInfo {
  requestId: string;
  /** The client's address (X-Forwarded-For only from trusted proxies); null when the transport has none. */
  clientAddress?: string | null;
  /** Set once the operation is known, for log lines. */
  operationName?: string | null;
}

export const requestContext = new AsyncLocalStorage<RequestInfo>();

export const currentRequestId = (): string | null => requestContext.getStore()?.requestId ?? null;
