import { getOperationAST, GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ApiKeyScope } from '../domain/api-key/api-key.ts';
import type { GraphQLContext } from './context.ts';

/**
 * What an API key may reach, decided by the root fields of the operation (nested fields follow their
 * root: a key that may query conversations reads their messages too):
 * - queries and subscriptions need `read` (or `admin`);
 * - mutations need the scope of their capability below (`chat`, `documents`, `admin`);
 * - mutations not listed (logging in, passwords, erasure, API keys themselves, and any field added
 *   later until it is listed here) are refused to every key: they need a login session.
 * Admin fields also need the admin role: builder.ts gives the `admin` auth scope to an admin's key
 * only when it has the `admin` key scope.
 */
export const MUTATION_SCOPES: Readonly<Record<string, ApiKeyScope>> = {
  startConversation: 'chat', renameConversation: 'chat', archiveConversation: 'chat', unarchiveConversation: 'chat',
  deleteConversation: 'chat', setConversationKnowledge: 'chat', sendMessage: 'chat', cancelReply: 'chat', regenerateReply: 'chat',
  uploadDocument: 'documents', uploadDocumentVersion: 'documents', renameDocument: 'documents', deleteDocument: 'documents',
  createKnowledgeBase: 'documents', renameKnowledgeBase: 'documents', deleteKnowledgeBase: 'documents',
  addDocumentToKnowledgeBase: 'documents', removeDocumentFromKnowledgeBase: 'documents',
  deactivateUser: 'admin', parkProjectionEvent: 'admin', rebuildProjection: 'admin', setRetentionPolicy: 'admin',
  placeLegalHold: 'admin', liftLegalHold: 'admin', setTokenQuota: 'admin',
  editMessage: 'chat', switchBranch: 'chat', updateConversationSettings: 'chat', pinConversation: 'chat', unpinConversation: 'chat',
  tagConversation: 'chat', untagConversation: 'chat', importConversations: 'chat', shareConversation: 'chat', revokeShare: 'chat',
  changeUserRole: 'admin', reactivateUser: 'admin', revokeUserSession: 'admin', setSignupPolicy: 'admin', createInvite: 'admin',
  revokeInvite: 'admin', setProviderApiKey: 'admin', clearProviderApiKey: 'admin',
};

/**
 * Mutations no API key may use, on purpose (a session only): logging in and out, passwords (also
 * issuePasswordReset, which would let a stolen admin key take over any account), erasure, and API key
 * management itself. Every mutation is in MUTATION_SCOPES or here (a test checks it), so a new one
 * is a decision, not an accident.
 */
export const SESSION_ONLY_MUTATIONS: ReadonlySet<string> = new Set([
  'register', 'login', 'logout', 'changePassword', 'resetPassword', 'issuePasswordReset', 'revokeSession', 'eraseUser',
  'createApiKey', 'revokeApiKey',
]);

/** The scopes that would allow a root field; empty: no key may use it. */
export function scopesFor(operation: 'query' | 'mutation' | 'subscription', field: string): readonly ApiKeyScope[] {
  if (field === '__typename') return ['read', 'chat', 'documents', 'admin'];
  if (operation !== 'mutation') return ['read', 'admin'];
  const scope = MUTATION_SCOPES[field];
  return scope ? [scope] : [];
}

function rootFields(selections: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen = new Set<string>()): string[] {
  const names: string[] = [];
  for (const selection of selections.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) names.push(...rootFields(selection.selectionSet, fragments, seen));
    else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (fragment && !seen.has(name)) {
        seen.add(name);
        names.push(...rootFields(fragment.selectionSet, fragments, seen));
      }
    }
  }
  return names;
}

/** The first root field of the operation the key's scopes do not allow, with the scope it needs; null when all are allowed. */
export function refusedRootField(document: DocumentNode, operationName: string | null | undefined, scopes: readonly ApiKeyScope[]) {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  for (const field of rootFields(operation.selectionSet, fragments)) {
    const allowed = scopesFor(operation.operation, field);
    if (!allowed.some((scope) => scopes.includes(scope))) return { field, needs: allowed };
  }
  return null;
}

function refusal(field: string, needs: readonly ApiKeyScope[]): GraphQLError {
  const message = needs.length === 0
    ? `API keys cannot use ${field}: log in with a session`
    : `This API key lacks the scope ${needs.join(' or ')} that ${field} needs`;
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN', requiredScopes: [...needs] } });
}

/** Refuses operations that reach beyond the scopes of the API key they came with (HTTP, SSE and graphql-ws alike). */
export function apiKeyScopesPlugin(): Plugin<GraphQLContext> {
  const check = (document: DocumentNode, operationName: string | null | undefined, context: GraphQLContext) => {
    const scopes = context.viewer?.apiKey?.scopes;
    if (!scopes) return null;
    const refused = refusedRootField(document, operationName, scopes);
    return refused ? refusal(refused.field, refused.needs) : null;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args.document, args.operationName, args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args.document, args.operationName, args.contextValue);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
