import { buildExecutionContext, execute } from '@graphql-tools/executor';
import { createSourceEventStream, GraphQLError, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * Who a subscription's results are computed for: subscriptions with the same key, document,
 * operation and variables get the same result for the same event. Null: never shared.
 */
export type SharingKey = (contextValue: unknown) => string | null;

type Result = ExecutionResult | AsyncIterable<unknown>;
type SubscribeFn = (args: ExecutionArgs) => unknown;

const documentIds = new WeakMap<DocumentNode, number>();
let lastDocumentId = 0;

function documentId(document: DocumentNode): number {
  let id = documentIds.get(document);
  if (id === undefined) documentIds.set(document, (id = ++lastDocumentId));
  return id;
}

/** As the executor reports an error thrown by a subscription's event source. */
function wrapSourceError(error: unknown, operation: OperationDefinitionNode): unknown {
  if (error instanceof AggregateError) return new AggregateError(error.errors.map((e) => wrapSourceError(e, operation)), error.message);
  const original = error instanceof Error ? error : new Error(String(error));
  return new GraphQLError(original.message, { originalError: original, nodes: [operation] });
}

/**
 * One event delivered to many subscriptions is executed once per distinct (sharing key, document,
 * operation, variables), not once per subscription: a thousand tabs on one conversation cost one
 * execution per event. Subscriptions share a result only while its event object is alive (results
 * hang off it in a WeakMap), so a subscription generator must yield the same object to everyone to
 * share. A result with errors is never handed on: the others execute for themselves.
 */
export function shareSubscriptionEvents(keyOf: SharingKey): Plugin {
  const shared = new WeakMap<object, Map<string, Promise<Result>>>();

  function subscribeSharing(args: ExecutionArgs, fallback: SubscribeFn): unknown {
    const built = buildExecutionContext(args as Parameters<typeof buildExecutionContext>[0]);
    const key = keyOf(args.contextValue);
    if (!('schema' in built) || key === null) return fallback(args); // invalid arguments: the executor's own errors
    let variables: string;
    try {
      variables = JSON.stringify(args.variableValues ?? null);
    } catch {
      return fallback(args);
    }
    const resultKey = `${documentId(args.document)}\u0000${args.operationName ?? ''}\u0000${variables}\u0000${key}`;
    const executeFor = (payload: unknown) => Promise.resolve(execute({ ...args, rootValue: payload } as Parameters<typeof execute>[0]) as Result);
    const resultOf = (payload: unknown): Promise<Result> => {
      if (typeof payload !== 'object' || payload === null) return executeFor(payload);
      let results = shared.get(payload);
      if (!results) shared.set(payload, (results = new Map()));
      const first = results.get(resultKey);
      if (first) return first.then((result) => (isAsyncIterable(result) || result.errors ? executeFor(payload) : result), () => executeFor(payload));
      const result = executeFor(payload);
      results.set(resultKey, result);
      return result;
    };
    return Promise.resolve(createSourceEventStream(args)).then((source) => {
      if (!isAsyncIterable(source)) return source;
      const iterator = source[Symbol.asyncIterator]();
      const done = { done: true, value: undefined } as const;
      const mapped: AsyncIterableIterator<Result> = {
        [Symbol.asyncIterator]: () => mapped,
        next: () => iterator.next().then(
          (step) => (step.done ? done : resultOf(step.value).then((value) => ({ done: false as const, value }))),
          (error: unknown) => { throw wrapSourceError(error, built.operation); },
        ),
        return: () => (iterator.return ? iterator.return().then(() => done) : Promise.resolve(done)),
        throw: (error: unknown) => (iterator.throw ? iterator.throw(error).then(() => done) : Promise.reject(error)),
      };
      return mapped;
    });
  }

  return {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      const fallback = subscribeFn as SubscribeFn;
      setSubscribeFn(((args: ExecutionArgs) => subscribeSharing(args, fallback)) as typeof subscribeFn);
    },
  };
}
