import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

/** Where `npm install` (scripts/web-build.mjs) puts the built web app. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * No inline script or style, nothing from another origin: model output and document text are
 * rendered as sanitised HTML, and this keeps anything that slips through from running.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "font-src 'self'",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  next();
}

const NOT_BUILT = '<!doctype html><meta charset="utf-8"><title>Evident</title>'
  + '<p>The web app has not been built. Run <code>npm install</code> (or <code>npm run build:web</code>) and reload.</p>'
  + '<p>The GraphQL API is at <a href="/graphql">/graphql</a>.</p>';

/**
 * The single-page app at `/`: its hashed assets cached for good, every other GET that asks for HTML
 * answered with index.html so deep links work. Mounted after the API routes, which keep their paths.
 */
export function webAppRouter(dist = WEB_DIST): Router {
  const router = express.Router();
  router.use(securityHeaders);
  router.use('/assets', express.static(`${dist}assets`, { immutable: true, maxAge: '1y', index: false, fallthrough: false }));
  router.use(express.static(dist, { index: false, maxAge: 0 }));
  router.get(/.*/, (req: Request, res: Response, next: NextFunction) => {
    if (!req.accepts('html')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    if (!existsSync(`${dist}index.html`)) return void res.status(503).type('html').send(NOT_BUILT);
    res.sendFile(`${dist}index.html`);
  });
  return router;
}
