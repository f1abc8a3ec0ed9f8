import { graphql, type ResultOf } from '../../graphql.ts';

// The password change answers with its token only: a User in the answer would make urql refetch
// `me` with the cookie of the session the change just ended (and show the sign-in form) before the
// new token is stored.
export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword) { token expiresAt }
  }
`);

export const MySessionsQuery = graphql(`
  query MySessions { mySessions { id current active startedAt expiresAt clientAddress userAgent } }
`);
export type MySession = ResultOf<typeof MySessionsQuery>['mySessions'][number];

export const RevokeSessionMutation = graphql(`mutation RevokeSession($id: ID!) { revokeSession(id: $id) }`);

export const MyActivityQuery = graphql(`
  query MyActivity($first: Int!, $after: String) {
    myActivity(first: $first, after: $after) {
      edges { node { eventId type occurredAt actorId } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
export type ActivityEvent = ResultOf<typeof MyActivityQuery>['myActivity']['edges'][number]['node'];

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey @_unmask { id name prefix scopes active createdAt lastUsedAt revokedAt }
`);
export type MyApiKey = ResultOf<typeof ApiKeyFields>;

export const MyApiKeysQuery = graphql(`query MyApiKeys { myApiKeys { ...ApiKeyFields } }`, [ApiKeyFields]);

export const CreateApiKeyMutation = graphql(`
  mutation CreateApiKey($name: String!, $scopes: [ApiKeyScope!]!) {
    createApiKey(name: $name, scopes: $scopes) { key apiKey { ...ApiKeyFields } }
  }
`, [ApiKeyFields]);

export const RevokeApiKeyMutation = graphql(`
  mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ...ApiKeyFields } }
`, [ApiKeyFields]);

export const ExportMyDataQuery = graphql(`query ExportMyData { exportMyData }`);

export const EraseUserMutation = graphql(`mutation EraseMe($id: ID!) { eraseUser(id: $id) }`);
