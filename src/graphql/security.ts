import { useDisableIntrospection } from '@envelop/disable-introspection';
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError } from 'graphql';
import { createGraphQLError, type CORSOptions, type Plugin } from 'graphql-yoga';
import type { GraphQLLimits } from '../infra/config.ts';

/** The extensions.code of every refused document: over a limit, introspection when it is off, unknown fields. */
export const LIMIT_CODE = 'GRAPHQL_VALIDATION_FAILED';

/** The header that lets a client send a form or text/plain body (browsers never add it cross-site without CORS). */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

const limitError = (message: string) => new GraphQLError(message, { extensions: { code: LIMIT_CODE } });

/**
 * graphql-armor's limits (depth, aliases, tokens, cost, directives) and hidden suggestions, and
 * introspection off when configured. All are envelop plugins, so they run on HTTP, SSE and
 * graphql-ws alike (the WebSocket server uses yoga.getEnveloped).
 */
export function documentLimitPlugins(limits: GraphQLLimits): Plugin[] {
  const reject = (ctx: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => {
    const clean = limitError(error.message.replace(/^Syntax Error: /, ''));
    if (ctx) ctx.reportError(clean);
    else throw clean; // the token limit stops the parser, which has no validation context
  };
  const common = { exposeLimits: true, propagateOnRejection: false, onReject: [reject] };
  const armor = new EnvelopArmor({
    blockFieldSuggestion: { enabled: !limits.suggestions, mask: '' },
    maxDepth: { ...common, n: limits.maxDepth, flattenFragments: true },
    maxAliases: { ...common, n: limits.maxAliases },
    maxTokens: { ...common, n: limits.maxTokens },
    costLimit: { ...common, maxCost: limits.maxCost },
    maxDirectives: { ...common, n: limits.maxDirectives },
  });
  return [
    ...(limits.introspection ? [] : [useDisableIntrospection() as Plugin]),
    ...(armor.protect().plugins as Plugin[]),
  ];
}

/** Removes graphql-js's "Did you mean …?" hints (also those raised while coercing variables). */
export const withoutSuggestions = (message: string) => message.replace(/\s*Did you mean [^?]*\?/g, '').trim();

/**
 * Refuses POST bodies a page on another site could send without a CORS preflight (forms,
 * text/plain, multipart) unless they carry CSRF_HEADER. GET can only run queries, which change
 * nothing, so it stays open (the GraphQL-over-HTTP spec's GET requests).
 */
export function csrfPrevention(): Plugin {
  const check = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }).onRequestParse!;
  return {
    onRequestParse(payload) {
      if (payload.request.method === 'GET') return;
      try {
        return check(payload);
      } catch {
        throw createGraphQLError(`This content type needs the ${CSRF_HEADER} header (CSRF protection); send application/json instead`, {
          extensions: { code: 'BAD_REQUEST', http: { status: 403 } },
        });
      }
    },
  };
}

/** CORS for the configured origins only; no CORS headers at all otherwise (same origin only). */
export function corsFor(origins: readonly string[]): (request: Request) => CORSOptions {
  const any = origins.includes('*');
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin || !(any || origins.includes(origin))) return false;
    return { origin: [origin], credentials: false, methods: ['GET', 'POST'], exposedHeaders: ['x-request-id'] };
  };
}
