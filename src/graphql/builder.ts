import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import type { GraphQLContext } from './context.ts';
import { clientError } from './errors.ts';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: string; Output: string | Date };
    JSON: { Input: unknown; Output: unknown };
    File: { Input: File; Output: never };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, ValidationPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authorizeOnSubscribe: true,
    // An admin's API key reaches admin fields only with the admin scope (see security.ts for the other scopes).
    authScopes: (context) => ({
      authenticated: context.viewer !== null,
      admin: context.viewer?.role === 'admin' && (!context.viewer.apiKey || context.viewer.apiKey.scopes.includes('admin')),
    }),
    unauthorizedError: (_parent, context) => context.viewer
      ? clientError('FORBIDDEN', 'You are not allowed to do this')
      : clientError('UNAUTHENTICATED', 'Log in first: send Authorization: Bearer <token>'),
  },
  relay: { clientMutationId: 'omit', cursorType: 'String' },
  validation: {
    validationError: (result) => clientError('BAD_USER_INPUT', result.issues.map((issue) => {
      const path = issue.path?.map((p) => (typeof p === 'object' ? p.key : p)).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    }).join('; ')),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date and time',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw clientError('BAD_USER_INPUT', 'DateTime must be an ISO-8601 string');
    return value;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
});
