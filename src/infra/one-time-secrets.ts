import { randomBytes } from 'node:crypto';
import { hashToken } from './passwords.ts';

/**
 * Secrets shown once to whoever asked (invite codes, password reset tokens): 256 random bits after
 * the id of what they unlock, so the command side can load that stream directly. Only the sha256 of
 * the whole secret is ever stored.
 */
export type SecretKind = 'invite' | 'reset';

const PREFIX: Readonly<Record<SecretKind, string>> = { invite: 'evi_', reset: 'evr_' };
const MAX_SECRET_LENGTH = 200;
const ID = /^[A-Za-z0-9-]{1,64}$/;

export function newSecret(kind: SecretKind, id: string): { secret: string; hash: string } {
  if (!ID.test(id)) throw new Error('A secret names an id of letters, digits and dashes');
  const secret = `${PREFIX[kind]}${id}.${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashToken(secret) };
}

/** The id a secret names and the hash to compare, or null when it is not a secret of this kind at all. */
export function parseSecret(kind: SecretKind, secret: unknown): { id: string; hash: string } | null {
  if (typeof secret !== 'string') return null;
  const text = secret.trim();
  if (text.length > MAX_SECRET_LENGTH || !text.startsWith(PREFIX[kind])) return null;
  const dot = text.indexOf('.');
  const id = text.slice(PREFIX[kind].length, dot);
  if (dot === -1 || !ID.test(id)) return null;
  return { id, hash: hashToken(text) };
}
