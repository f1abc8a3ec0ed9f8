import { z } from 'zod';
import { API_KEY_SCOPES, MAX_API_KEY_NAME_LENGTH } from '../../domain/api-key/api-key.ts';
import { apiKeyById, apiKeysOf, type ApiKeyRow } from '../../projections/api-keys-queries.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { clientError } from '../errors.ts';
import { settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';

const ApiKeyScope = builder.enumType('ApiKeyScope', {
  description: 'read: every query and subscription; chat: conversation mutations and /v1/chat/completions; '
    + 'documents: document and knowledge-base mutations and uploads; admin: admin fields (for admins only)',
  values: API_KEY_SCOPES,
});

const ApiKey = builder.objectRef<ApiKeyRow>('ApiKey').implement({
  description: 'An API key for programs; the key itself is shown only once, when it is created',
  fields: (t) => ({
    id: t.exposeID('key_id'),
    name: t.string({ nullable: true, description: 'Null when erased', resolve: (k) => k.name }),
    prefix: t.exposeString('display_prefix', { description: 'The first characters of the key, to tell keys apart' }),
    scopes: t.field({ type: [ApiKeyScope], resolve: (k) => k.scopes }),
    active: t.boolean({ resolve: (k) => k.revoked_at === null }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.created_at }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revoked_at }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, description: 'Recorded at most once a minute', resolve: (k) => k.last_used_at }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; apiKey: ApiKeyRow }>('CreatedApiKey').implement({
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key: send it as Authorization: Bearer <key>. Shown this once; only its hash is kept.' }),
    apiKey: t.field({ type: ApiKey, resolve: (p) => p.apiKey }),
  }),
});

/** Key management needs a login session: a key can neither mint nor revoke keys (api-key-scopes.ts lists no scope for these). */
async function ownKey(context: GraphQLContext, keyId: string): Promise<ApiKeyRow> {
  const viewer = requireViewer(context);
  const row = await apiKeyById(context.services.readDb, keyId);
  if (!row || (row.owner_id !== viewer.userId && viewer.role !== 'admin')) throw clientError('NOT_FOUND', 'API key not found');
  return row;
}

builder.queryFields((t) => ({
  myApiKeys: t.field({
    type: [ApiKey],
    description: 'Your API keys, newest first',
    authScopes: { authenticated: true },
    args: { includeRevoked: t.arg.boolean({ required: false, description: 'Also the revoked ones (default false)' }) },
    resolve: (_root, args, context) => apiKeysOf(context.services.readDb, requireViewer(context).userId, args.includeRevoked ?? false),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    description: 'Creates an API key for your programs, with the scopes it may use. The answer holds the key: it is never shown again.',
    authScopes: { authenticated: true },
    args: {
      name: t.arg.string({ validate: z.string().trim().min(1, 'must not be empty').max(MAX_API_KEY_NAME_LENGTH, `must be at most ${MAX_API_KEY_NAME_LENGTH} characters`) }),
      scopes: t.arg({ type: [ApiKeyScope], validate: z.array(z.unknown()).min(1, 'must hold at least one scope').max(API_KEY_SCOPES.length) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      if (args.scopes.includes('admin') && viewer.role !== 'admin') throw clientError('FORBIDDEN', 'Only admins can create keys with the admin scope');
      const result = await context.services.apiKeys.create({ ownerId: viewer.userId, name: args.name, scopes: args.scopes },
        context.services.commandContext(viewer.userId, context.requestId));
      await settle(context, result);
      const row = await apiKeyById(context.services.readDb, result.keyId);
      const created = result.events[0]!.data as { name: string; scopes: ApiKeyRow['scopes']; displayPrefix: string };
      return {
        key: result.key,
        apiKey: row ?? {
          key_id: result.keyId, owner_id: viewer.userId, name: created.name, scopes: created.scopes, display_prefix: created.displayPrefix,
          created_at: new Date().toISOString(), revoked_at: null, last_used_at: null,
        },
      };
    },
  }),
  revokeApiKey: t.field({
    type: ApiKey,
    description: 'Revokes one of your API keys (admins: anyone\'s); it stops working at once. Revoking a revoked key changes nothing.',
    authScopes: { authenticated: true },
    args: { id: t.arg.id() },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const keyId = String(args.id);
      const before = await ownKey(context, keyId);
      const result = await context.services.apiKeys.revoke({ keyId, actorId: viewer.userId, byAdmin: viewer.role === 'admin' },
        context.services.commandContext(viewer.userId, context.requestId));
      const shown = await settle(context, result);
      return (shown ? await apiKeyById(context.services.readDb, keyId) : null) ?? { ...before, revoked_at: before.revoked_at ?? new Date().toISOString() };
    },
  }),
}));
