import { AsyncLocalStorage } from 'node:async_hooks';

/** The request id of the HTTP request or WebSocket operation being served, for logs and masked errors. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

export const currentRequestId = (): string | null => requestContext.getStore()?.requestId ?? null;
