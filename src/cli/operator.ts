// Operator actions (erase, deactivate): the server's own command handlers, with the operator as actor.
import { createEmailClaims } from '../commands/email-claims.ts';
import { loadAggregate } from '../commands/execute-command.ts';
import { createUserCommands, type UserCommands, type UserCommandsDeps } from '../commands/users.ts';
import { normalizeEmail, userDecider, userStream, type UserState } from '../domain/user/user.ts';
import { createBlindIndex } from '../infra/blind-index.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { CliContext } from './context.ts';
import { notFound, unavailable, usageError } from './errors.ts';

export interface ResolvedUser {
  userId: string;
  state: UserState;
}

async function emailClaims(ctx: CliContext) {
  const masterKey = ctx.masterKey();
  if (!masterKey) throw unavailable('No master key: set MASTER_KEY, or keep master.key in DATA_DIR');
  return createEmailClaims(await ctx.store(), createBlindIndex(masterKey, 'email'));
}

/** A user named by id or by email address (looked up in the log's email claims). Exit 4 when there is none. */
export async function resolveUser(ctx: CliContext, idOrEmail: string, what: string): Promise<ResolvedUser> {
  const store: EventStore = await ctx.store();
  let userId = idOrEmail.trim();
  if (userId.includes('@')) {
    let email: string;
    try {
      email = normalizeEmail(userId);
    } catch {
      throw usageError(`${what}: "${idOrEmail}" is not a valid email address`);
    }
    const owner = await (await emailClaims(ctx)).ownerOf(email);
    if (!owner) throw notFound(`${what}: no user has the email address ${email}`);
    userId = owner;
  }
  if (userId.length === 0) throw usageError(`${what}: give a user id or an email address`);
  const { state } = await loadAggregate(store, userDecider, userStream(userId));
  if (state.status === 'unregistered') throw notFound(`${what}: no user with id ${userId}`);
  return { userId, state };
}

/** The operator (`--as`): an active admin, else exit 4 (unknown) or 2 (not an active admin). */
export async function resolveOperator(ctx: CliContext, idOrEmail: string): Promise<ResolvedUser> {
  const operator = await resolveUser(ctx, idOrEmail, '--as');
  if (operator.state.status !== 'active') throw usageError(`--as: user ${operator.userId} is ${operator.state.status}, not an active admin`);
  if (operator.state.role !== 'admin') throw usageError(`--as: user ${operator.userId} is not an admin`);
  return operator;
}

/** The user commands as the server builds them; `scrubbed` is the erasure's wait for the read-model scrub. */
export async function userCommands(
  ctx: CliContext, scrubbed?: UserCommandsDeps['scrubbed'], holdsCovering?: UserCommandsDeps['holdsCovering'],
): Promise<UserCommands> {
  const codec = await ctx.codec();
  if (!codec) throw unavailable('No master key: set MASTER_KEY, or keep master.key in DATA_DIR');
  return createUserCommands({
    store: await ctx.store(), emailClaims: await emailClaims(ctx), eraseKey: (subjectId) => codec.erase(subjectId), scrubbed, holdsCovering,
  });
}
