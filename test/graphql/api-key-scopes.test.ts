import { describe, expect, it } from 'vitest';
import { MUTATION_SCOPES, SESSION_ONLY_MUTATIONS, scopesFor } from '../../src/graphql/api-key-scopes.ts';
import { buildSchema } from '../../src/graphql/schema.ts';

describe('API key scopes', () => {
  it('every mutation of the schema has a scope or is session-only, never both: a new mutation is a decision', () => {
    const mutations = Object.keys(buildSchema().getMutationType()!.getFields()).sort();
    const decided = [...Object.keys(MUTATION_SCOPES), ...SESSION_ONLY_MUTATIONS].sort();
    expect(decided).toEqual(mutations);
    for (const name of SESSION_ONLY_MUTATIONS) expect(scopesFor('mutation', name)).toEqual([]);
  });

  it('queries and subscriptions need read (or admin); mutations their one scope', () => {
    expect(scopesFor('query', 'conversations')).toEqual(['read', 'admin']);
    expect(scopesFor('subscription', 'conversationEvents')).toEqual(['read', 'admin']);
    expect(scopesFor('mutation', 'sendMessage')).toEqual(['chat']);
    expect(scopesFor('mutation', 'setProviderApiKey')).toEqual(['admin']);
    expect(scopesFor('mutation', 'issuePasswordReset')).toEqual([]);
  });
});
