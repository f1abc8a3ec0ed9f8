import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { App } from '../app.ts';
import type { Logger } from '../infra/logger.ts';
import { readMigrations } from '../infra/read-db/migrations.ts';
import { boundedLabel, type Metrics } from '../infra/metrics.ts';
import { inSpan } from '../infra/tracing.ts';
import { MIGRATIONS_DIR } from '../stores.ts';

export interface Readiness {
  status: 'ready' | 'not ready';
  /** Why not ready (absent when ready). */
  reasons?: string[];
  projections?: Array<{ name: string; state: string; lagEvents: number }>;
  chainSealer?: { leased: boolean; lagEvents: number };
}

/** How long one readiness check may take: a store that hangs makes the instance not ready, not /readyz slow. */
export const READY_CHECK_TIMEOUT_MS = 3_000;

class CheckTimeout extends Error {}

function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new CheckTimeout()), READY_CHECK_TIMEOUT_MS); });
  work.catch(() => {}); // settled after the timeout: nothing waits for it any more
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const unreachable = (what: string) => (error: unknown) =>
  (error instanceof CheckTimeout ? `${what} did not answer within ${READY_CHECK_TIMEOUT_MS / 1000} s` : `${what} unreachable`);

/**
 * Stores reachable, migrations applied, no projection stopped at an event, lags under READY_MAX_LAG.
 * The checks run side by side, each bounded by READY_CHECK_TIMEOUT_MS.
 */
export async function readiness(app: App, migrationNames: Promise<string[]>): Promise<Readiness> {
  const maxLag = app.config.readyMaxLag;
  let projections: Readiness['projections'];
  let chainSealer: Readiness['chainSealer'];
  const migrations = bounded((async () => {
    const { rows } = await app.readDb.query<{ name: string }>('SELECT name FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.name));
    const missing = (await migrationNames).filter((name) => !applied.has(name));
    return missing.length > 0 ? [`read-model migrations not applied: ${missing.join(', ')}`] : [];
  })()).catch((error: unknown) => [unreachable('read database')(error)]);
  const projectionReasons = bounded(app.projections.status()).then((statuses) => {
    projections = statuses.map((s) => ({ name: s.name, state: s.failedEventId ? 'failed' : s.state, lagEvents: s.lagEvents }));
    return statuses.flatMap((s) => {
      if (s.state === 'failed' || s.failedEventId) return [`projection ${s.name} is stopped at event ${s.failedEventId ?? '?'}`];
      return s.lagEvents > maxLag ? [`projection ${s.name} is ${s.lagEvents} events behind (READY_MAX_LAG ${maxLag})`] : [];
    });
  }, (error: unknown) => [unreachable('event store or read database')(error)]);
  const sealerReasons = bounded(Promise.all([app.store.headPosition(), app.chain.head()])).then(([logHead, chainHead]) => {
    const lagEvents = logHead > chainHead.position ? Number(logHead - chainHead.position) : 0;
    chainSealer = { leased: app.sealer.leased, lagEvents };
    return lagEvents > maxLag ? [`chain sealer is ${lagEvents} events behind (READY_MAX_LAG ${maxLag})`] : [];
  }, (error: unknown) => [unreachable('event store or chain store')(error)]);
  const reasons = (await Promise.all([migrations, projectionReasons, sealerReasons])).flat();
  return reasons.length > 0
    ? { status: 'not ready', reasons, projections, chainSealer }
    : { status: 'ready', projections, chainSealer };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '');
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** GET /healthz (alive), GET /readyz (ready to serve, JSON with reasons), GET /metrics (Prometheus; bearer METRICS_TOKEN when set). */
export function observabilityRouter(app: App): Router {
  const router = express.Router();
  const migrationNames = readMigrations(MIGRATIONS_DIR).then((files) => files.map((f) => f.name));
  migrationNames.catch(() => {});
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (_req, res) => {
    const result = await readiness(app, migrationNames);
    res.status(result.status === 'ready' ? 200 : 503).json(result);
  });
  router.get('/metrics', async (req, res) => {
    const token = app.config.metricsToken;
    if (token !== undefined && !tokenMatches(req.headers.authorization, token)) {
      res.status(401).setHeader('www-authenticate', 'Bearer').json({ error: 'METRICS_TOKEN required' });
      return;
    }
    res.setHeader('content-type', app.metrics.registry.contentType);
    res.send(await app.metrics.registry.metrics());
  });
  return router;
}

const KNOWN_ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics', '/uploads']);

/** Counts and times HTTP requests; the route label is one of the known paths or "other". */
export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    const path = req.path.startsWith('/uploads') ? '/uploads' : req.path; // before routers strip their mount paths
    res.once('finish', () => {
      const route = KNOWN_ROUTES.has(path) ? path : 'other';
      const method = ['GET', 'POST', 'OPTIONS', 'HEAD'].includes(req.method) ? req.method : 'other';
      end({ method, route });
      metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** The operation's type and first root field (names from the schema, so the label set is bounded). */
function operationLabels(document: DocumentNode, operationName: string | null | undefined) {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operations.find((o) => o.name?.value === operationName) ?? operations[0];
  const field = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return { type: operation?.operation ?? 'unknown', operation: field && field.kind === Kind.FIELD ? boundedLabel(field.name.value) : 'other' };
}

function errorCodes(errors: readonly unknown[] | undefined): string[] {
  return (errors ?? []).map((error) => {
    const code = error instanceof GraphQLError ? error.extensions?.code : (error as { extensions?: { code?: unknown } })?.extensions?.code;
    return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : 'INTERNAL_SERVER_ERROR';
  });
}

/** GraphQL operations (count, duration, errors by code) and open subscriptions per transport. */
export function graphqlMetricsPlugin(metrics: Metrics, logger?: Logger): Plugin {
  const record = (labels: { type: string; operation: string }, started: number, errors: readonly unknown[] | undefined) => {
    const codes = errorCodes(errors);
    metrics.graphqlDuration.observe(labels, (performance.now() - started) / 1000);
    metrics.graphqlOperations.inc({ ...labels, outcome: codes.length > 0 ? 'error' : 'ok' });
    for (const code of new Set(codes)) metrics.graphqlErrors.inc({ operation: labels.operation, code });
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const labels = operationLabels(args.document, args.operationName);
      setExecuteFn((executeArgs) => inSpan(`graphql ${labels.type} ${labels.operation}`, { 'graphql.operation.type': labels.type },
        async () => {
          const result = await executeFn(executeArgs);
          // Inside the span, so the line carries its trace id (the logger's mixin).
          logger?.debug({ type: labels.type, operation: labels.operation }, 'graphql operation executed');
          return result;
        }));
      const started = performance.now();
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return; // @defer/@stream: counted once, below would be per chunk
          record(labels, started, (result as { errors?: readonly unknown[] }).errors);
        },
      };
    },
    onSubscribe({ args }) {
      const labels = operationLabels(args.document, args.operationName);
      const ctx = args.contextValue as { connectionParams?: unknown; request?: globalThis.Request };
      const transport = ctx.connectionParams !== undefined || ctx.request === undefined ? 'ws' : 'sse';
      const started = performance.now();
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in (result as object))) {
            record(labels, started, (result as { errors?: readonly unknown[] }).errors);
            return;
          }
          record(labels, started, undefined);
          metrics.subscriptionsOpen.inc({ transport });
          let open = true;
          return {
            onEnd() {
              if (open) metrics.subscriptionsOpen.dec({ transport });
              open = false;
            },
          };
        },
      };
    },
  };
}
