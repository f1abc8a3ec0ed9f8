import { z } from 'zod';
import { KEYED_PROVIDERS, MAX_API_KEY_LENGTH } from '../../domain/provider-key/provider-key.ts';
import type { ProviderKeyStatus } from '../../commands/provider-keys.ts';
import { isProviderError } from '../../infra/ai/provider.ts';
import { builder } from '../builder.ts';
import { settle } from '../settle.ts';
import { requireViewer } from './accounts.ts';
import { Conversation } from './conversations.ts';

const ProviderApiKey = builder.objectRef<ProviderKeyStatus>('ProviderApiKey').implement({
  description: 'Whether an admin set an API key for a provider at run time; the key itself is never returned',
  fields: (t) => ({
    provider: t.exposeString('provider', { description: `One of ${KEYED_PROVIDERS.join(', ')}` }),
    configured: t.exposeBoolean('configured', { description: 'A runtime key is in force (it wins over the configured one, e.g. ANTHROPIC_API_KEY)' }),
    setAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.setAt }),
    setBy: t.id({ nullable: true, description: 'The admin who set it', resolve: (s) => s.setBy }),
  }),
});

const providerArg = z.string().max(50, 'must be at most 50 characters');

builder.queryFields((t) => ({
  providerApiKeys: t.field({
    type: [ProviderApiKey],
    description: 'Admins: which providers have a runtime API key, since when and set by whom',
    authScopes: { admin: true },
    resolve: (_root, _args, context) => context.services.providerKeys.status(),
  }),
}));

builder.mutationFields((t) => ({
  setProviderApiKey: t.field({
    type: ProviderApiKey,
    description: 'Admins: sets the API key a provider is called with, on every instance from its next call. '
      + 'It is recorded sealed (AES-256-GCM under the master key) and never shown again.',
    authScopes: { admin: true },
    args: {
      provider: t.arg.string({ validate: providerArg }),
      apiKey: t.arg.string({ validate: z.string().max(MAX_API_KEY_LENGTH, `must be at most ${MAX_API_KEY_LENGTH} characters`) }),
    },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const result = await context.services.providerKeys.set({ provider: args.provider, apiKey: args.apiKey },
        context.services.commandContext(viewer.userId, context.requestId));
      context.services.providers.invalidate();
      await settle(context, result);
      return (await context.services.providerKeys.status()).find((s) => s.provider === args.provider)!;
    },
  }),
  clearProviderApiKey: t.field({
    type: ProviderApiKey,
    description: 'Admins: removes the runtime API key of a provider; it is then called with its configured key, if any',
    authScopes: { admin: true },
    args: { provider: t.arg.string({ validate: providerArg }) },
    resolve: async (_root, args, context) => {
      const viewer = requireViewer(context);
      const result = await context.services.providerKeys.clear({ provider: args.provider }, context.services.commandContext(viewer.userId, context.requestId));
      context.services.providers.invalidate();
      await settle(context, result);
      return (await context.services.providerKeys.status()).find((s) => s.provider === args.provider)!;
    },
  }),
}));

builder.objectField(Conversation, 'provider', (t) => t.string({
  nullable: true,
  description: "The id of the provider the conversation's model is routed to (a 'provider/' prefix forces one; otherwise the first that lists it); null when none offers it now",
  resolve: async (conversation, _args, context) => {
    if (!conversation.model || !context.services.providers.isConfigured) return null;
    try {
      return (await context.services.providers.resolveModel(conversation.model)).provider.id;
    } catch (error) {
      if (isProviderError(error)) return null;
      throw error;
    }
  },
}));
