import type { Services } from './services.ts';

export interface Viewer {
  userId: string;
  sessionId: string;
  role: 'admin' | 'member';
}

export interface GraphQLContext {
  services: Services;
  viewer: Viewer | null;
  requestId: string;
  /** The client's address, as the login throttle sees it; null when unknown (in-process calls). */
  clientAddress: string | null;
}
