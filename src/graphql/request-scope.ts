import { getOperationAST, GraphQLError, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { uuidv7 } from '../infra/ids.ts';
import type { Logger } from '../infra/logger.ts';
import { requestContext } from './request-context.ts';

/**
 * Gives every request served by yoga (over express or in process through yoga.fetch) a request
 * scope, unless the transport already opened one, and records the operation's name in it for the
 * log lines of its errors.
 */
export function requestScopePlugin(): Plugin {
  const remember = (document: DocumentNode, operationName: string | null | undefined) => {
    const store = requestContext.getStore();
    if (store) store.operationName = operationName ?? getOperationAST(document, operationName)?.name?.value ?? null;
  };
  return {
    instrumentation: {
      request: (_payload, wrapped) => (requestContext.getStore() ? wrapped() : requestContext.run({ requestId: uuidv7() }, wrapped)),
    },
    onExecute: ({ args }) => remember(args.document, args.operationName),
    onSubscribe: ({ args }) => remember(args.document, args.operationName),
  };
}

/** What may be logged of something yoga logs: never an error's text (it can quote the query, and so passwords). */
function summary(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (value instanceof GraphQLError) return { error: value.name, code: value.extensions?.code ?? null };
  if (value instanceof Error) return { error: value.name };
  return typeof value;
}

/**
 * yoga's own logging, made safe. Its error lines are the errors maskError has already logged (with
 * the request id, and the detail only for unexpected ones), so they are kept at debug.
 */
export function yogaLogger(logger: Logger): Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void> {
  const at = (level: 'debug' | 'info' | 'warn') => (...args: unknown[]) => {
    if (!logger.isLevelEnabled(level)) return;
    const [first, ...rest] = args.map(summary);
    if (typeof first === 'string' && rest.length === 0) logger[level]({ component: 'yoga' }, first);
    else logger[level]({ component: 'yoga', details: [first, ...rest] }, 'yoga');
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('debug') };
}
