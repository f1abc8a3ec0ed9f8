import type { ModelParams, ReplyProvenance as ReplyProvenanceData } from '../../domain/conversation/conversation.ts';
import { builder } from '../builder.ts';
import { ModelParameters } from './model-parameters.ts';

const ProvenanceSource = builder.objectRef<ReplyProvenanceData['sources'][number]>('ProvenanceSource').implement({
  description: 'A document version the prompt quoted',
  fields: (t) => ({
    documentId: t.exposeID('documentId'),
    documentVersion: t.exposeInt('version'),
    chunkId: t.exposeID('chunkId'),
  }),
});

const ProvenanceProvider = builder.objectRef<NonNullable<ReplyProvenanceData['provider']>>('ProvenanceProvider').implement({
  description: 'The AI provider that was asked: its id and the host of its base URL (no keys, paths or credentials)',
  fields: (t) => ({
    id: t.exposeString('id'),
    host: t.exposeString('host', { nullable: true }),
  }),
});

export const ReplyProvenance = builder.objectRef<ReplyProvenanceData>('ReplyProvenance').implement({
  description: 'Where a reply came from (docs/audit.md, "Reply provenance"); recompute the hashes from what the provider received to check them',
  fields: (t) => ({
    providerModel: t.exposeString('providerModel', { nullable: true, description: 'The model id as the provider reported it' }),
    requestedModel: t.exposeString('requestedModel', { description: 'The model id sent to the provider' }),
    parameters: t.field({ type: ModelParameters, resolve: (p) => p.params as ModelParams as Record<string, number> }),
    systemPromptSha256: t.exposeString('systemPromptSha256', { nullable: true, description: 'sha256 (hex) of the system message as sent; null without one' }),
    promptSha256: t.exposeString('promptSha256', { description: 'sha256 (hex) of the canonical JSON (RFC 8785) of the messages array sent' }),
    inReplyTo: t.idList({ description: 'Every user and assistant message the prompt held, oldest first', resolve: (p) => p.inReplyTo }),
    sources: t.field({ type: [ProvenanceSource], resolve: (p) => p.sources }),
    provider: t.field({ type: ProvenanceProvider, nullable: true, resolve: (p) => p.provider }),
  }),
});
