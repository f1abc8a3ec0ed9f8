import { randomBytes } from 'node:crypto';
import { apiKeyDecider, apiKeyStream, MAX_ACTIVE_API_KEYS, type ApiKeyScope } from '../domain/api-key/api-key.ts';
import { DomainError } from '../domain/decider.ts';
import { checkId } from '../domain/identifiers.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import { hashToken } from '../infra/passwords.ts';
import type { SqlExecutor } from '../infra/read-db/port.ts';
import { activeApiKeyCount } from '../projections/api-keys-queries.ts';
import type { CommandContext } from './context.ts';
import { executeCommand } from './execute-command.ts';

/** Every API key starts with this, so people, secret scanners and the authentication can tell it from a session token (`evd_`). */
export const API_KEY_PREFIX = 'evk_';
/** Characters of the key (prefix included) kept to tell keys apart: `evk_` and 6 of the random part. */
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

/** A new key: 256 random bits, base64url; only its sha256 is stored. */
export function newApiKey(): { key: string; tokenHash: string; displayPrefix: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, tokenHash: hashToken(key), displayPrefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

export const isApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

export function createApiKeyCommands(deps: { store: EventStore; readDb: SqlExecutor }) {
  const { store, readDb } = deps;
  return {
    /** Creates a key for its owner; the key is in the answer and nowhere else. */
    async create(input: { ownerId: string; name: string; scopes: readonly ApiKeyScope[] }, context: CommandContext) {
      if (await activeApiKeyCount(readDb, input.ownerId) >= MAX_ACTIVE_API_KEYS) {
        throw new DomainError('CONFLICT', `You already have ${MAX_ACTIVE_API_KEYS} active API keys: revoke one first`);
      }
      const keyId = context.newId();
      const { key, tokenHash, displayPrefix } = newApiKey();
      const result = await executeCommand(store, apiKeyDecider, apiKeyStream(keyId), {
        type: 'CreateApiKey', keyId, ownerId: input.ownerId, name: input.name, scopes: input.scopes, tokenHash, displayPrefix,
      }, context);
      return { keyId, key, ...result };
    },

    /** The owner revokes their key; an admin (`byAdmin`) anyone's. Revoking twice changes nothing. */
    revoke(input: { keyId: string; actorId: string; byAdmin: boolean }, context: CommandContext) {
      const keyId = checkId(input.keyId, 'Key id');
      return executeCommand(store, apiKeyDecider, apiKeyStream(keyId), { type: 'RevokeApiKey', keyId, actorId: input.actorId, byAdmin: input.byAdmin }, context);
    },
  };
}

export type ApiKeyCommands = ReturnType<typeof createApiKeyCommands>;
