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
}
