import { createHash } from 'node:crypto';
import type { HistoryEntry, ModelParams, ReplyProvenance, ReplySource } from '../domain/conversation/conversation.ts';
import type { PromptMessage } from '../domain/conversation/sources-prompt.ts';

/**
 * Canonical JSON (RFC 8785 for what prompts hold: strings, finite numbers, booleans, null, arrays,
 * objects): object keys sorted by UTF-16 code units, no whitespace. Anyone holding the request body a
 * provider received can recompute the hash from it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('canonical JSON has no non-finite numbers');
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`canonical JSON cannot hold ${typeof value}`);
    return text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Only the host of a provider's base URL: no scheme, path, query or credentials. */
export function providerHost(baseUrl: string | undefined): string | null {
  if (!baseUrl) return null;
  try {
    return new URL(baseUrl).host || null;
  } catch {
    return null;
  }
}

export interface ProvenanceInput {
  /** Exactly the messages handed to the provider. */
  messages: readonly PromptMessage[];
  /** The conversation history the prompt was built from (every entry is in the prompt). */
  history: readonly Pick<HistoryEntry, 'messageId'>[];
  requestedModel: string;
  params: ModelParams;
  sources: readonly ReplySource[];
  provider: { id: string; baseUrl?: string } | null;
}

/** The provenance of a reply whose prompt was sent; `providerModel` is filled in once the provider reports it. */
export function replyProvenance(input: ProvenanceInput, providerModel: string | null = null): ReplyProvenance {
  const messages = input.messages.map(({ role, content }) => ({ role, content }));
  const system = messages.find((m) => m.role === 'system');
  return {
    providerModel,
    requestedModel: input.requestedModel,
    params: input.params,
    systemPromptSha256: system ? sha256Hex(system.content) : null,
    promptSha256: sha256Hex(canonicalJson(messages)),
    inReplyTo: input.history.map((entry) => entry.messageId),
    sources: input.sources.map((s) => ({ documentId: s.documentId, version: s.version, chunkId: s.chunkId })),
    provider: input.provider ? { id: input.provider.id, host: providerHost(input.provider.baseUrl) } : null,
  };
}
