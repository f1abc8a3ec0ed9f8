import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { App } from '../app.ts';
import { bearerToken, viewerForToken } from './authenticate.ts';

/**
 * The web app's session lives in an HttpOnly cookie, so script injected into the page cannot read
 * it. The app signs in with the login mutation, hands the token to POST /session once and forgets
 * it; from then on the browser sends the cookie and `cookieBearer` turns it into the bearer token
 * every other path already understands. SameSite=Strict keeps other sites' requests from carrying
 * it, and POST /session takes JSON only (a cross-site form cannot send that without CORS).
 */
export const SESSION_COOKIE = 'evident_session';
export const SESSION_PATH = '/session';

const COOKIE_VALUE = /^[A-Za-z0-9._~+/=-]{1,200}$/;

/** The session cookie's value in a Cookie header, or null. */
export function sessionCookie(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0 || part.slice(0, at).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(at + 1).trim();
    return COOKIE_VALUE.test(value) ? value : null;
  }
  return null;
}

/** A request without an Authorization header authenticates with the session cookie, when it has one. */
export function cookieBearer(req: Request, _res: Response, next: NextFunction): void {
  if (req.headers.authorization === undefined) {
    const token = sessionCookie(req.headers.cookie);
    if (token) req.headers.authorization = `Bearer ${token}`;
  }
  next();
}

function refuse(res: Response, status: number, message: string, code: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

export function webSessionRouter(app: App, options: { secure: boolean }): Router {
  const router = express.Router();
  const cookie = { httpOnly: true, sameSite: 'strict' as const, secure: options.secure, path: '/' };
  router.post(SESSION_PATH, express.json({ limit: 1024 }), async (req: Request, res: Response) => {
    if (!req.is('application/json')) return refuse(res, 415, 'Send the token as application/json', 'BAD_REQUEST');
    const token = typeof req.body?.token === 'string' ? bearerToken(`Bearer ${req.body.token}`) : null;
    if (!token || !COOKIE_VALUE.test(token)) return refuse(res, 400, 'token must be a session token', 'BAD_USER_INPUT');
    const viewer = await viewerForToken(app.readDb, token);
    if (!viewer || viewer.apiKey) return refuse(res, 401, 'The token is not a live session', 'UNAUTHENTICATED');
    res.cookie(SESSION_COOKIE, token, { ...cookie, expires: viewer.expiresAt });
    res.status(204).end();
  });
  router.delete(SESSION_PATH, (_req: Request, res: Response) => {
    res.clearCookie(SESSION_COOKIE, cookie);
    res.status(204).end();
  });
  router.use(SESSION_PATH, (error: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large' || error.type === 'entity.parse.failed') return refuse(res, 400, 'Send {"token": "…"} as JSON', 'BAD_REQUEST');
    next(error);
  });
  return router;
}
