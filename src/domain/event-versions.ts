import { firstAdminDecider } from './account/first-admin.ts';
import { loginAttemptDecider } from './account/login-attempts.ts';
import { sessionDecider, sessionUpcasters } from './account/session.ts';
import { signupPolicyDecider } from './account/signup-policy.ts';
import { apiKeyDecider } from './api-key/api-key.ts';
import { conversationDecider, conversationUpcasters } from './conversation/conversation.ts';
import { shareDecider } from './conversation/share.ts';
import { documentDecider } from './document/document.ts';
import { knowledgeBaseDecider } from './knowledge-base/knowledge-base.ts';
import { parkingDecider } from './projection/parking.ts';
import { rebuildDecider } from './projection/rebuilds.ts';
import { providerKeyDecider } from './provider-key/provider-key.ts';
import { createUpcasterRegistry, type Upcaster } from './upcasting.ts';
import { emailClaimDecider } from './user/email-claim.ts';
import { userDecider } from './user/user.ts';
import { tokenQuotaDecider } from './usage/token-quota.ts';

/** The current schema version of every event type the deciders emit. */
export const currentSchemaVersions: Readonly<Record<string, number>> = {
  ...userDecider.schemaVersions,
  ...emailClaimDecider.schemaVersions,
  ...firstAdminDecider.schemaVersions,
  ...loginAttemptDecider.schemaVersions,
  ...sessionDecider.schemaVersions,
  ...signupPolicyDecider.schemaVersions,
  ...conversationDecider.schemaVersions,
  ...parkingDecider.schemaVersions,
  ...rebuildDecider.schemaVersions,
  ...documentDecider.schemaVersions,
  ...knowledgeBaseDecider.schemaVersions,
  ...shareDecider.schemaVersions,
  ...providerKeyDecider.schemaVersions,
  ...apiKeyDecider.schemaVersions,
  ...tokenQuotaDecider.schemaVersions,
};

/** Every upcaster, oldest first. */
export const upcasters: readonly Upcaster[] = [...conversationUpcasters, ...sessionUpcasters];

export const domainUpcasting = createUpcasterRegistry(currentSchemaVersions, upcasters);
