import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { checkText } from '../text.ts';

/**
 * An API key for programs: created and revoked by its owner (or revoked by an admin). Like session
 * tokens, the key itself never enters the log: only its sha256 (`tokenHash`), enough to recognise it
 * and useless to anyone reading the log; the key is shown once, when it is created. `displayPrefix`
 * (the first characters, e.g. `evk_AbC123`) lets people tell their keys apart; it reveals 36 of the
 * key's 256 random bits. The name is the owner's own label: personal data, sealed under their key.
 */
export const API_KEY_SCOPES = ['read', 'chat', 'documents', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const MAX_API_KEY_NAME_LENGTH = 100;
/** Active keys one person may hold at a time (checked by the command handler, which can count them). */
export const MAX_ACTIVE_API_KEYS = 50;

export type ApiKeyEvent =
  | DomainEvent<'ApiKeyCreated', { keyId: string; ownerId: string; name: string; scopes: ApiKeyScope[]; tokenHash: string; displayPrefix: string }>
  | DomainEvent<'ApiKeyRevoked', { keyId: string; ownerId: string; reason: 'owner' | 'admin' }>;

export type ApiKeyCommand =
  | { type: 'CreateApiKey'; keyId: string; ownerId: string; name: string; scopes: readonly string[]; tokenHash: string; displayPrefix: string }
  /** `byAdmin`: the actor is an admin revoking someone else's key (the handler checks the role). */
  | { type: 'RevokeApiKey'; keyId: string; actorId: string; byAdmin?: boolean };

export interface ApiKeyState {
  status: 'none' | 'active' | 'revoked';
  ownerId: string | null;
}

export const apiKeyStream = (keyId: string) => `api-key-${keyId}`;

export const apiKeyPersonalData: Readonly<Record<string, PersonalFields>> = {
  ApiKeyCreated: { subjectField: 'ownerId', fields: ['name'] },
};

const bad = (message: string) => new DomainError('BAD_USER_INPUT', message);

function normalizeScopes(scopes: readonly string[]): ApiKeyScope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw bad('Give the key at least one scope');
  const known = new Set<string>(API_KEY_SCOPES);
  const chosen = new Set<ApiKeyScope>();
  for (const scope of scopes) {
    if (typeof scope !== 'string' || !known.has(scope)) throw bad(`Unknown scope; the scopes are ${API_KEY_SCOPES.join(', ')}`);
    chosen.add(scope as ApiKeyScope);
  }
  return API_KEY_SCOPES.filter((scope) => chosen.has(scope));
}

function normalizeName(name: string): string {
  const text = checkText(name, 'Name', 'single-line').trim();
  if (text.length === 0) throw bad('Name must not be empty');
  if (text.length > MAX_API_KEY_NAME_LENGTH) throw bad(`Name must be at most ${MAX_API_KEY_NAME_LENGTH} characters`);
  return text;
}

export const apiKeyDecider: Decider<ApiKeyCommand, ApiKeyState, ApiKeyEvent> = {
  initialState: () => ({ status: 'none', ownerId: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'ApiKeyCreated':
        return { status: 'active', ownerId: event.data.ownerId };
      case 'ApiKeyRevoked':
        return { ...state, status: 'revoked' };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateApiKey': {
        if (state.status !== 'none') throw new DomainError('CONFLICT', 'API key already exists');
        if (!/^[0-9a-f]{64}$/.test(command.tokenHash)) throw bad('Token hash must be a sha256 hex digest');
        if (!/^evk_[A-Za-z0-9_-]{1,12}$/.test(command.displayPrefix)) throw bad('Display prefix must be the start of an evk_ key');
        if (typeof command.ownerId !== 'string' || command.ownerId.length === 0) throw bad('Owner id is required');
        return [{
          type: 'ApiKeyCreated',
          data: {
            keyId: command.keyId, ownerId: command.ownerId, name: normalizeName(command.name), scopes: normalizeScopes(command.scopes),
            tokenHash: command.tokenHash, displayPrefix: command.displayPrefix,
          },
        }];
      }
      case 'RevokeApiKey': {
        // Someone else's key is "not found" to a member: existence is not revealed.
        if (state.status === 'none' || state.ownerId === null || (state.ownerId !== command.actorId && !command.byAdmin)) {
          throw new DomainError('NOT_FOUND', 'API key not found');
        }
        if (state.status === 'revoked') return [];
        return [{ type: 'ApiKeyRevoked', data: { keyId: command.keyId, ownerId: state.ownerId, reason: state.ownerId === command.actorId ? 'owner' : 'admin' } }];
      }
    }
  },

  schemaVersions: { ApiKeyCreated: 1, ApiKeyRevoked: 1 },
};
