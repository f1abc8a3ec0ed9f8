import { builder } from '../builder.ts';

interface ModelView { id: string; provider: string; ownedBy: string | null }

const Model = builder.objectRef<ModelView>('Model').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass as `model` when starting a conversation' }),
    provider: t.exposeString('provider', { description: 'The id of the provider that offers it (openai, anthropic, gemini, ollama)' }),
    qualifiedId: t.string({ description: "'provider/id': pass as `model` to pin this provider when several list the same id", resolve: (m) => `${m.provider}/${m.id}` }),
    ownedBy: t.exposeString('ownedBy', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  models: t.field({
    type: [Model],
    description: 'Models the configured providers offer (empty when none is configured or none answers)',
    authScopes: { authenticated: true },
    resolve: async (_root, _args, context) => (await context.services.providers.listModels()).models,
  }),
}));
