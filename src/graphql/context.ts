import type { ApiKeyScope } from '../domain/api-key/api-key.ts';
import type { Services } from './services.ts';

export interface Viewer {
  userId: string;
  sessionId: string;
  role: 'admin' | 'member';
  /** Log position of SessionStarted: a password change at a later position ends the session. */
  startedPosition: bigint;
  expiresAt: Date;
  /** Set when the request authenticated with an API key rather than a session: what the key may do. */
  apiKey?: { keyId: string; scopes: readonly ApiKeyScope[] };
}

export interface GraphQLContext {
  services: Services;
  viewer: Viewer | null;
  requestId: string;
  /** The client's address, as the login throttle sees it; null when unknown (in-process calls). */
  clientAddress: string | null;
  /** The User-Agent header, recorded (encrypted) on the sessions it starts; null when absent. */
  userAgent?: string | null;
}
