import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { App } from '../app.ts';
import { uuidv7 } from '../infra/ids.ts';
import { bearerToken, viewerForToken } from './authenticate.ts';
import type { GraphQLContext } from './context.ts';
import { exposedError } from './errors.ts';
import { currentRequestId, requestContext } from './request-context.ts';
import { buildSchema } from './schema.ts';
import { usePendingFlag } from './settle.ts';

export const MAX_REQUEST_BYTES = 1024 * 1024;
export const GRAPHQL_PATH = '/graphql';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function graphqlErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

export function createGraphQLHandler(app: App) {
  const schema = buildSchema();
  const yoga = createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    plugins: [usePendingFlag()],
    graphiql: app.config.env === 'development',
    landingPage: false,
    logging: {
      debug: (...args) => app.logger.debug(args.map(String).join(' ')),
      info: (...args) => app.logger.info(args.map(String).join(' ')),
      warn: (...args) => app.logger.warn(args.map(String).join(' ')),
      error: (...args) => app.logger.error(args.map(String).join(' ')),
    },
    maskedErrors: {
      maskError(error) {
        const exposed = exposedError(error);
        if (exposed) return exposed;
        // Over HTTP this is the x-request-id of the response; in process, a fresh id still ties the
        // client's error to the log line.
        const requestId = currentRequestId() ?? uuidv7();
        app.logger.error({ err: (error as GraphQLError).originalError ?? error, requestId }, 'unexpected error');
        return new GraphQLError('Unexpected error', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
      },
    },
    context: async (initial) => {
      const request = (initial as { request?: globalThis.Request }).request;
      const connectionParams = (initial as { connectionParams?: Record<string, unknown> }).connectionParams;
      const token = bearerToken(request?.headers.get('authorization') ?? connectionParams?.authorization ?? connectionParams?.Authorization);
      return {
        services: app,
        viewer: await viewerForToken(app.readDb, token),
        requestId: currentRequestId() ?? uuidv7(),
      };
    },
  });
  return yoga;
}

/** express + graphql-yoga over HTTP and SSE, and graphql-ws over WebSocket, sharing one envelop pipeline. */
export async function startServer(app: App, options: { port: number; host: string }): Promise<RunningServer> {
  const yoga = createGraphQLHandler(app);
  const web = express();
  web.disable('x-powered-by');
  web.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  web.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = uuidv7();
    res.setHeader('x-request-id', requestId);
    requestContext.run({ requestId }, next);
  });
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

  const server: Server = createServer(web);
  const sockets = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: MAX_REQUEST_BYTES });
  const wsServer = useServer<Record<string, unknown>, { request: IncomingMessage }>({
    execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
    subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
    onSubscribe: async (ctx, _id, payload) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx, req: ctx.extra.request, socket: (ctx.extra as { socket?: unknown }).socket, params: payload,
        connectionParams: ctx.connectionParams,
      });
      const requestId = uuidv7();
      return requestContext.run({ requestId }, async () => {
        const document = parse(payload.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema, document, operationName: payload.operationName, variableValues: payload.variables,
          contextValue: await contextFactory(), rootValue: { execute, subscribe },
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
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    port,
    async close() {
      await wsServer.dispose();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
