import { firstAdminDecider, FIRST_ADMIN_STREAM } from '../domain/account/first-admin.ts';
import { loginAttemptDecider, loginAttemptsStream, type LoginFailureReason } from '../domain/account/login-attempts.ts';
import { sessionDecider, sessionStream } from '../domain/account/session.ts';
import { refuseUnlessOpen, SIGNUP_POLICY_STREAM, signupPolicyDecider } from '../domain/account/signup-policy.ts';
import { DomainError } from '../domain/decider.ts';
import { normalizeDisplayName, normalizeEmail, userDecider, userStream, type UserRole } from '../domain/user/user.ts';
import type { EventStore } from '../infra/event-store/port.ts';
import type { LoginThrottle } from '../infra/login-throttle.ts';
import {
  hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, newSessionToken, verifyAgainstNothing, verifyPassword,
} from '../infra/passwords.ts';
import type { CommandContext } from './context.ts';
import type { EmailClaims } from './email-claims.ts';
import { AccessError } from './errors.ts';
import { executeCommand, loadAggregate } from './execute-command.ts';
import { parseSecret } from '../infra/one-time-secrets.ts';

export interface AccountCommandsDeps {
  store: EventStore;
  emailClaims: EmailClaims;
  emailKey(email: string): string;
  sessionTtlMs: number;
  throttle: LoginThrottle;
  /** A keyed hash of a client address, so the throttle's store holds no addresses. */
  addressKey(address: string): string;
}

export interface StartedSession {
  token: string;
  sessionId: string;
  userId: string;
  expiresAt: string;
  position: bigint;
}

const INVALID_LOGIN = 'Invalid email or password';

function checkPassword(password: string, label = 'Password'): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `${label} must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  }
}

/** Where a login comes from when the transport does not say (in-process calls). */
export const UNKNOWN_ADDRESS = 'unknown';

/** Where a request comes from, as its transport tells: recorded encrypted on SessionStarted. */
export interface ClientInfo {
  clientAddress?: string | null;
  userAgent?: string | null;
}

export function createAccountCommands({ store, emailClaims, emailKey, sessionTtlMs, throttle, addressKey }: AccountCommandsDeps) {
  async function startSession(userId: string, client: ClientInfo, context: CommandContext): Promise<StartedSession> {
    const sessionId = context.newId();
    const { token, tokenHash } = newSessionToken();
    const expiresAt = new Date(context.now().getTime() + sessionTtlMs).toISOString();
    const result = await executeCommand(store, sessionDecider, sessionStream(sessionId), {
      type: 'StartSession', sessionId, userId, tokenHash, expiresAt, clientAddress: client.clientAddress ?? null, userAgent: client.userAgent ?? null,
    }, context);
    return { token, sessionId, userId, expiresAt, position: result.position! };
  }

  async function recordFailure(email: string, userId: string | null, reason: LoginFailureReason, context: CommandContext) {
    await executeCommand(store, loginAttemptDecider, loginAttemptsStream(emailKey(email)),
      { type: 'RecordLoginFailure', userId, reason, at: context.now().toISOString() }, context);
  }

  /** Whether the sign-up policy admits this registration: redeems the invite when it needs one (race-safe use count). */
  async function admit(input: { userId: string; inviteCode?: string | null }, context: CommandContext): Promise<void> {
    const { state } = await loadAggregate(store, signupPolicyDecider, SIGNUP_POLICY_STREAM);
    if (state.mode !== 'invite_only' || !input.inviteCode) {
      refuseUnlessOpen(state);
      return;
    }
    const invite = parseSecret('invite', input.inviteCode);
    if (!invite) throw new DomainError('INVITE_INVALID', 'The invite code is invalid, expired or used up');
    await executeCommand(store, signupPolicyDecider, SIGNUP_POLICY_STREAM, {
      type: 'RedeemInvite', inviteId: invite.id, codeHash: invite.hash, userId: input.userId, now: context.now().toISOString(),
    }, context);
  }

  return {
    /**
     * The first account ever registered becomes admin, whatever the sign-up policy; everyone after is a
     * member, admitted by the policy (open, invite-only with a code, or closed).
     */
    async register(input: { userId: string; email: string; password: string; displayName: string; inviteCode?: string | null }, context: CommandContext) {
      const email = normalizeEmail(input.email);
      normalizeDisplayName(input.displayName); // refused before the address is claimed: nothing half-written
      checkPassword(input.password);
      if ((await loadAggregate(store, firstAdminDecider, FIRST_ADMIN_STREAM)).state.adminId !== null) {
        // Refused before the (costly) hash when sign-up is closed; decided for good below.
        const { state } = await loadAggregate(store, signupPolicyDecider, SIGNUP_POLICY_STREAM);
        if (state.mode === 'closed') refuseUnlessOpen(state);
      }
      const passwordHash = await hashPassword(input.password);
      return emailClaims.holding(email, input.userId, context, async () => {
        const claim = await executeCommand(store, firstAdminDecider, FIRST_ADMIN_STREAM, { type: 'ClaimFirstAdmin', userId: input.userId }, context);
        const role: UserRole = claim.events.length > 0 ? 'admin' : 'member';
        if (role === 'member') await admit(input, context);
        const result = await executeCommand(store, userDecider, userStream(input.userId), {
          type: 'RegisterAccount', userId: input.userId, email, displayName: input.displayName, passwordHash, role,
        }, context);
        return { userId: input.userId, role, position: result.position! };
      });
    },

    /**
     * Success and every failure are events; the answer to a failure is the same whether or not the
     * address exists, and takes as long (a password is always verified against some hash). Attempts
     * are throttled per account and client address (src/infra/login-throttle.ts) before any check.
     */
    async login(input: { email: string; password: string } & ClientInfo, context: CommandContext): Promise<StartedSession> {
      let email: string | null;
      try {
        email = normalizeEmail(input.email);
      } catch {
        email = null; // not an address anyone could have: still an attempt, throttled and recorded under the text as given
      }
      const attempted = email ?? (typeof input.email === 'string' ? input.email.trim().toLowerCase() : '');
      const account = emailKey(attempted);
      const address = addressKey(input.clientAddress || UNKNOWN_ADDRESS);
      const decision = await throttle.attempt(account, address);
      if (!decision.allowed) {
        const wait = decision.retryAfterSeconds;
        await executeCommand(store, loginAttemptDecider, loginAttemptsStream(account), {
          type: 'RecordLoginThrottled', userId: email && await emailClaims.ownerOf(email), retryAfterSeconds: wait, at: context.now().toISOString(),
        }, context);
        throw new AccessError('RATE_LIMITED', `Too many failed logins; try again in ${wait} seconds`, wait);
      }
      if (email === null) {
        await verifyAgainstNothing(String(input.password));
        await recordFailure(attempted, null, 'unknown_email', context);
        throw new AccessError('UNAUTHENTICATED', INVALID_LOGIN);
      }

      const userId = await emailClaims.ownerOf(email);
      const user = userId ? (await loadAggregate(store, userDecider, userStream(userId))).state : null;
      if (!userId || !user || user.status !== 'active' || !user.passwordHash) {
        await verifyAgainstNothing(String(input.password));
        await recordFailure(email, userId, userId && user?.status !== 'unregistered' ? 'inactive' : 'unknown_email', context);
        throw new AccessError('UNAUTHENTICATED', INVALID_LOGIN);
      }
      if (!(await verifyPassword(user.passwordHash, String(input.password)))) {
        await recordFailure(email, userId, 'bad_password', context);
        throw new AccessError('UNAUTHENTICATED', INVALID_LOGIN);
      }
      await throttle.succeeded(account, address);
      // From here on the person is known: they are the actor of their session.
      const asUser: CommandContext = { ...context, actorId: userId };
      const session = await startSession(userId, input, asUser);
      await executeCommand(store, loginAttemptDecider, loginAttemptsStream(emailKey(email)),
        { type: 'RecordLoginSuccess', userId, sessionId: session.sessionId, at: context.now().toISOString() }, asUser);
      return session;
    },

    async logout(input: { sessionId: string; userId: string }, context: CommandContext) {
      return executeCommand(store, sessionDecider, sessionStream(input.sessionId),
        { type: 'EndSession', sessionId: input.sessionId, actorId: input.userId }, context);
    },

    /** A new password ends every session of the user (they started before it); the caller gets a fresh one. */
    async changePassword(input: { userId: string; currentPassword: string; newPassword: string } & ClientInfo, context: CommandContext): Promise<StartedSession> {
      checkPassword(input.newPassword, 'New password');
      const { state } = await loadAggregate(store, userDecider, userStream(input.userId));
      if (!state.passwordHash || !(await verifyPassword(state.passwordHash, String(input.currentPassword)))) {
        throw new AccessError('UNAUTHENTICATED', 'Current password is wrong');
      }
      const passwordHash = await hashPassword(input.newPassword);
      await executeCommand(store, userDecider, userStream(input.userId), { type: 'SetUserPassword', userId: input.userId, passwordHash }, context);
      return startSession(input.userId, input, context);
    },

    /**
     * Sets a new password with a one-time token an admin issued (no login needed). The new password
     * ends every session of the user (UserPasswordSet); the token cannot be used again. No session is
     * started: the person logs in with the new password.
     */
    async resetPassword(input: { token: string; newPassword: string }, context: CommandContext) {
      checkPassword(input.newPassword, 'New password');
      const secret = parseSecret('reset', input.token);
      if (!secret) throw new DomainError('RESET_TOKEN_INVALID', 'The password reset link is invalid or has expired');
      const { state } = await loadAggregate(store, userDecider, userStream(secret.id));
      if (state.reset?.tokenHash !== secret.hash) {
        // Refused before the costly hash; the decider decides for good (and under a concurrent use).
        throw new DomainError('RESET_TOKEN_INVALID', 'The password reset link is invalid or has expired');
      }
      const passwordHash = await hashPassword(input.newPassword);
      return executeCommand(store, userDecider, userStream(secret.id), {
        type: 'ResetPassword', userId: secret.id, tokenHash: secret.hash, passwordHash, now: context.now().toISOString(),
      }, { ...context, actorId: context.actorId ?? secret.id });
    },
  };
}

export type AccountCommands = ReturnType<typeof createAccountCommands>;
