import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsFiles } from '../infra/tls.ts';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type GraphiQLOptions } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import { reportUnexpected } from '../infra/error-tracking.ts';
import { uuidv7 } from '../infra/ids.ts';
import { apiKeyScopesPlugin } from './api-key-scopes.ts';
import { bearerToken, viewerForToken } from './authenticate.ts';
import { clientAddressOf, compileTrust } from './client-address.ts';
import type { GraphQLContext } from './context.ts';
import { documentUploadRouter } from './document-upload.ts';
import { exposedError } from './errors.ts';
import { OPENAI_API_PATH, openAiApiRouter } from './openai-api.ts';
import { graphqlMetricsPlugin, httpMetrics, observabilityRouter } from './observability.ts';
import { requestContext, type RequestInfo } from './request-context.ts';
import { requestScopePlugin, yogaLogger } from './request-scope.ts';
import { buildSchema } from './schema.ts';
import { shareSubscriptionEvents } from './shared-subscription-events.ts';
import { leanSseResults } from './sse-results.ts';
import { corsFor, csrfPrevention, documentLimitPlugins, withoutSuggestions } from './security.ts';
import { usePendingFlag } from './settle.ts';
import { webAppRouter } from './web-app.ts';
import { cookieBearer, webSessionRouter } from './web-session.ts';

export const MAX_REQUEST_BYTES = 1024 * 1024;
export const GRAPHQL_PATH = '/graphql';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The enveloped execute/subscribe of one graphql-ws operation, and its request scope. */
interface WsRoot {
  execute(args: unknown): unknown;
  subscribe(args: unknown): unknown;
  info: RequestInfo;
}

const inScope = (rootValue: unknown, run: (root: WsRoot) => unknown) => {
  const root = rootValue as WsRoot;
  return requestContext.run(root.info, () => run(root)) as never;
};

function graphqlErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/** GraphiQL with its scripts and styles inlined from the npm package: it works offline, nothing comes from a CDN. */
async function renderOfflineGraphiQL(options?: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql'); // 9 MB, loaded only when asked for
  return renderGraphiQL(options);
}

/** Subscriptions of one session (same user, role, session and API key) see the same result for the same event. */
function sharingKey(contextValue: unknown): string | null {
  const viewer = (contextValue as Partial<GraphQLContext> | null)?.viewer;
  if (!viewer) return null;
  const key = viewer.apiKey ? `${viewer.apiKey.keyId}:${[...viewer.apiKey.scopes].sort().join(',')}` : '';
  return `${viewer.userId}\u0000${viewer.role}\u0000${viewer.sessionId}\u0000${key}`;
}

export function createGraphQLHandler(app: App) {
  const schema = buildSchema();
  const { logger } = app;
  const limits = app.config.graphql;
  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: app.config.env === 'development',
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    cors: corsFor(app.config.corsOrigins),
    logging: yogaLogger(logger),
    plugins: [requestScopePlugin(), graphqlMetricsPlugin(app.metrics, logger), csrfPrevention(), ...documentLimitPlugins(limits), usePendingFlag(), apiKeyScopesPlugin(),
      shareSubscriptionEvents(sharingKey), leanSseResults()],
    maskedErrors: {
      // Log lines name the operation, the code and the request id: never the document or the
      // variables, which can hold passwords. Client errors are not the server's: debug only.
      maskError(error) {
        const info = requestContext.getStore();
        const requestId = info?.requestId ?? uuidv7();
        const operationName = info?.operationName ?? null;
        const exposed = exposedError(error);
        if (exposed) {
          logger.debug({ requestId, operationName, code: exposed.extensions.code }, 'client error');
          if (!limits.suggestions && /Did you mean/.test(exposed.message)) {
            return new GraphQLError(withoutSuggestions(exposed.message), { nodes: exposed.nodes, path: exposed.path, extensions: exposed.extensions });
          }
          return exposed;
        }
        if (error instanceof GraphQLError && error.extensions?.code === 'INTERNAL_SERVER_ERROR' && error.extensions.requestId) return error;
        logger.error({ err: (error as GraphQLError).originalError ?? error, requestId, operationName, code: 'INTERNAL_SERVER_ERROR' }, 'unexpected error');
        reportUnexpected((error as GraphQLError).originalError ?? error, { requestId, code: 'INTERNAL_SERVER_ERROR' });
        return new GraphQLError('Unexpected error', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
      },
    },
    context: async (initial) => {
      const request = (initial as { request?: globalThis.Request }).request;
      const connectionParams = (initial as { connectionParams?: Record<string, unknown> }).connectionParams;
      const token = bearerToken(request?.headers.get('authorization') ?? connectionParams?.authorization ?? connectionParams?.Authorization);
      const info = requestContext.getStore();
      return {
        services: app,
        viewer: await viewerForToken(app.readDb, token),
        requestId: info?.requestId ?? uuidv7(),
        clientAddress: info?.clientAddress ?? null,
        userAgent: request?.headers.get('user-agent') ?? null,
      };
    },
  });
  return yoga;
}

/**
 * GraphQL multipart requests (file uploads) are read into memory by yoga: one whose Content-Length
 * is over the upload limit (plus room for the operation) is refused before its body is read, and
 * one without a Content-Length is not taken at all. POST /uploads streams files of any size.
 */
function refuseOversizedMultipart(maxUploadBytes: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.is('multipart/form-data')) return next();
    const length = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(length)) {
      res.status(411).setHeader('Connection', 'close');
      res.json(graphqlErrorBody('A multipart GraphQL request needs a Content-Length; stream large files to POST /uploads', 'BAD_USER_INPUT'));
      return;
    }
    if (length > maxUploadBytes + MAX_REQUEST_BYTES) {
      res.status(413).setHeader('Connection', 'close');
      res.json({ errors: [{ message: `The file exceeds the limit of ${maxUploadBytes} bytes (MAX_UPLOAD_BYTES)`, extensions: { code: 'BAD_USER_INPUT', limit: 'MAX_UPLOAD_BYTES', maxBytes: maxUploadBytes } }] });
      return;
    }
    next();
  };
}

/** express + graphql-yoga over HTTP and SSE, and graphql-ws over WebSocket, sharing one envelop pipeline. */
/** With `tls` (readTlsFiles), HTTPS and wss:// on the same port; without, plain HTTP (e.g. behind a TLS-terminating proxy). */
export async function startServer(app: App, options: { port: number; host: string; tls?: TlsFiles }): Promise<RunningServer> {
  const yoga = createGraphQLHandler(app);
  const trust = compileTrust(app.config.trustProxy);
  const web = express();
  web.disable('x-powered-by');
  web.set('trust proxy', trust);
  web.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = uuidv7();
    res.setHeader('x-request-id', requestId);
    requestContext.run({ requestId, clientAddress: req.ip ?? null }, next);
  });
  web.use(httpMetrics(app.metrics));
  web.use(observabilityRouter(app));
  web.use(webSessionRouter(app, { secure: Boolean(options.tls) }));
  web.use([GRAPHQL_PATH, '/uploads'], cookieBearer);
  web.use(documentUploadRouter(app));
  web.use(OPENAI_API_PATH, openAiApiRouter(app));
  web.use(GRAPHQL_PATH, refuseOversizedMultipart(app.config.documents.maxUploadBytes));
  web.use(GRAPHQL_PATH, express.json({ limit: MAX_REQUEST_BYTES, type: ['application/json', 'application/graphql-response+json'] }));
  web.use(GRAPHQL_PATH, (error: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (error.type === 'entity.too.large') {
      res.status(413).json(graphqlErrorBody(`Request body exceeds the limit of ${MAX_REQUEST_BYTES} bytes`, 'BAD_USER_INPUT'));
    } else if (error.type === 'entity.parse.failed') {
      res.status(400).json(graphqlErrorBody('Request body is not valid JSON', 'BAD_REQUEST'));
    } else {
      next(error);
    }
  });
  web.use(GRAPHQL_PATH, yoga as unknown as express.RequestHandler);
  web.use(webAppRouter());

  // Old protocol versions and weak ciphers are left to Node's defaults (TLS 1.2 at least, OpenSSL's cipher list).
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, web) : createServer(web);
  const sockets = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: MAX_REQUEST_BYTES });
  const wsServer = useServer<Record<string, unknown>, { request: IncomingMessage }>({
    execute: (args) => inScope(args.rootValue, (root) => root.execute(args)),
    subscribe: (args) => inScope(args.rootValue, (root) => root.subscribe(args)),
    onSubscribe: async (ctx, _id, payload) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx, req: ctx.extra.request, socket: (ctx.extra as { socket?: unknown }).socket, params: payload,
        connectionParams: ctx.connectionParams,
      });
      const info: RequestInfo = { requestId: uuidv7(), clientAddress: clientAddressOf(ctx.extra.request, trust) };
      return requestContext.run(info, async () => {
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error]; // a syntax error or the token limit
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const root: WsRoot = { execute, subscribe, info };
        return {
          schema, document, operationName: payload.operationName, variableValues: payload.variables,
          contextValue: await contextFactory(), rootValue: root,
        };
      });
    },
  }, sockets);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}${GRAPHQL_PATH}`,
    port,
    async close() {
      await wsServer.dispose();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
