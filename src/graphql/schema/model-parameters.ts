import { builder } from '../builder.ts';

/** Sampling parameters of a conversation or reply; null means the provider's default. */
export const ModelParameters = builder.objectRef<Record<string, number>>('ModelParameters').implement({
  fields: (t) => ({
    temperature: t.float({ nullable: true, resolve: (p) => p.temperature ?? null }),
    topP: t.float({ nullable: true, resolve: (p) => p.topP ?? null }),
    maxTokens: t.int({ nullable: true, resolve: (p) => p.maxTokens ?? null }),
  }),
});
