import { firstAdminDecider } from './account/first-admin.ts';
import { loginAttemptDecider } from './account/login-attempts.ts';
import { sessionDecider } from './account/session.ts';
import { conversationDecider } from './conversation/conversation.ts';
import { parkingDecider } from './projection/parking.ts';
import { createUpcasterRegistry, type Upcaster } from './upcasting.ts';
import { emailClaimDecider } from './user/email-claim.ts';
import { userDecider } from './user/user.ts';

/** The current schema version of every event type the deciders emit. */
export const currentSchemaVersions: Readonly<Record<string, number>> = {
  ...userDecider.schemaVersions,
  ...emailClaimDecider.schemaVersions,
  ...firstAdminDecider.schemaVersions,
  ...loginAttemptDecider.schemaVersions,
  ...sessionDecider.schemaVersions,
  ...conversationDecider.schemaVersions,
  ...parkingDecider.schemaVersions,
};

/** Every upcaster, oldest first. None yet: every event type is still at version 1. */
export const upcasters: readonly Upcaster[] = [];

export const domainUpcasting = createUpcasterRegistry(currentSchemaVersions, upcasters);
