import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './schema/accounts.ts';
import './schema/account-admin.ts';
import './schema/admin.ts';
import './schema/api-keys.ts';
import './schema/audit.ts';
import './schema/conversations.ts';
import './schema/conversation-transfer.ts';
import './schema/conversation-tools.ts';
import './schema/documents.ts';
import './schema/models.ts';
import './schema/provider-keys.ts';
import './schema/retention.ts';
import './schema/sharing.ts';
import './schema/system.ts';
import './schema/usage.ts';

let schema: GraphQLSchema | undefined;

/** One schema file per capability registers its types on the builder; this assembles them once. */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: true });
  return schema;
}
