import { graphql, type ResultOf, type VariablesOf } from '../../graphql.ts';

// Users

export const AdminUserFields = graphql(`
  fragment AdminUserFields on User @_unmask { id email displayName role active registeredAt }
`);
export type AdminUser = ResultOf<typeof AdminUserFields>;

export const UsersQuery = graphql(`
  query AdminUsers($search: String, $role: UserRole, $status: UserStatus, $first: Int, $after: String) {
    users(search: $search, role: $role, status: $status, first: $first, after: $after) {
      edges { node { ...AdminUserFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [AdminUserFields]);

export const DeactivateUserMutation = graphql(`
  mutation AdminDeactivateUser($id: ID!, $reason: String) { deactivateUser(id: $id, reason: $reason) { ...AdminUserFields } }
`, [AdminUserFields]);
export const ReactivateUserMutation = graphql(`
  mutation AdminReactivateUser($id: ID!) { reactivateUser(id: $id) { ...AdminUserFields } }
`, [AdminUserFields]);
export const ChangeUserRoleMutation = graphql(`
  mutation AdminChangeUserRole($id: ID!, $role: UserRole!) { changeUserRole(id: $id, role: $role) { ...AdminUserFields } }
`, [AdminUserFields]);
export const IssuePasswordResetMutation = graphql(`
  mutation AdminIssuePasswordReset($userId: ID!) { issuePasswordReset(userId: $userId) { token expiresAt user { id } } }
`);
export const EraseUserMutation = graphql(`mutation AdminEraseUser($id: ID!) { eraseUser(id: $id) }`);

// Projections

export const ProjectionsQuery = graphql(`
  query AdminProjections {
    projections { name state position lagEvents lagSeconds lastError failedEventId failedPosition }
  }
`);
export type Projection = ResultOf<typeof ProjectionsQuery>['projections'][number];

export const RebuildProjectionMutation = graphql(`
  mutation AdminRebuildProjection($name: String!) {
    rebuildProjection(name: $name) { name state position lagEvents lagSeconds lastError failedEventId failedPosition }
  }
`);
export const ParkProjectionEventMutation = graphql(`
  mutation AdminParkProjectionEvent($name: String!, $eventId: ID!, $reason: String!) {
    parkProjectionEvent(name: $name, eventId: $eventId, reason: $reason) { name state position lagEvents lagSeconds lastError failedEventId failedPosition }
  }
`);

// Audit log

export const AuditEventFields = graphql(`
  fragment AuditEventFields on AuditEvent @_unmask {
    position eventId type schemaVersion stream occurredAt actorId correlationId causationId requestId
    subjectId subjectErased personalFields summary
  }
`);
export type AuditEventView = ResultOf<typeof AuditEventFields>;

export const AuditLogQuery = graphql(`
  query AdminAuditLog($filter: AuditFilter, $first: Int, $after: String) {
    auditLog(filter: $filter, first: $first, after: $after, newestFirst: true) {
      edges { node { ...AuditEventFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [AuditEventFields]);
export type AuditFilterInput = NonNullable<VariablesOf<typeof AuditLogQuery>['filter']>;

export const AuditFeedSubscription = graphql(`
  subscription AdminAuditFeed($filter: AuditFilter) { auditFeed(filter: $filter) { ...AuditEventFields } }
`, [AuditEventFields]);

// Sign-up policy and invites

export const SignupPolicyQuery = graphql(`query AdminSignupPolicy { signupPolicy { mode updatedAt } }`);
export const SetSignupPolicyMutation = graphql(`
  mutation AdminSetSignupPolicy($mode: SignupMode!) { setSignupPolicy(mode: $mode) { mode updatedAt } }
`);

export const InviteFields = graphql(`
  fragment InviteFields on Invite @_unmask { id createdAt createdBy expiresAt maxUses uses usable revokedAt }
`);
export type InviteView = ResultOf<typeof InviteFields>;

export const InvitesQuery = graphql(`
  query AdminInvites($usableOnly: Boolean, $first: Int, $after: String) {
    invites(usableOnly: $usableOnly, first: $first, after: $after) {
      edges { node { ...InviteFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`, [InviteFields]);
export const CreateInviteMutation = graphql(`
  mutation AdminCreateInvite($expiresAt: DateTime, $maxUses: Int) {
    createInvite(expiresAt: $expiresAt, maxUses: $maxUses) { code invite { ...InviteFields } }
  }
`, [InviteFields]);
export const RevokeInviteMutation = graphql(`
  mutation AdminRevokeInvite($id: ID!) { revokeInvite(id: $id) { ...InviteFields } }
`, [InviteFields]);
