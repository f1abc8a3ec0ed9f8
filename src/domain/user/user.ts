import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';
import { checkText } from '../text.ts';

export type UserEvent =
  | DomainEvent<'UserRegistered', { userId: string; email: string; displayName: string }>
  | DomainEvent<'UserEmailChanged', { userId: string; email: string }>
  | DomainEvent<'UserDeactivated', { userId: string; reason: string | null }>
  /** The argon2id hash of the password; sessions started before this event are no longer valid. */
  | DomainEvent<'UserPasswordSet', { userId: string; passwordHash: string }>
  | DomainEvent<'UserRoleAssigned', { userId: string; role: UserRole }>
  /** The person's key is deleted right after this event; their personal fields then read as erased. */
  | DomainEvent<'UserDataErased', { userId: string }>
  /** A deactivated user may log in again; sessions from before the deactivation stay invalid. */
  | DomainEvent<'UserReactivated', { userId: string }>
  /**
   * An admin issued a one-time password reset: only the sha256 of the token is recorded, the token is
   * shown once to the admin. It supersedes any earlier reset not yet used.
   */
  | DomainEvent<'PasswordResetIssued', { userId: string; resetId: string; tokenHash: string; expiresAt: string }>
  /** The reset token was used (followed by UserPasswordSet in the same append): it cannot be used again. */
  | DomainEvent<'PasswordResetCompleted', { userId: string; resetId: string }>;

export type UserRole = 'admin' | 'member';

export type UserCommand =
  | { type: 'RegisterUser'; userId: string; email: string; displayName: string }
  /** A user who can log in: registered, with a password and a role, in one atomic append. */
  | { type: 'RegisterAccount'; userId: string; email: string; displayName: string; passwordHash: string; role: UserRole }
  | { type: 'SetUserPassword'; userId: string; passwordHash: string }
  | { type: 'ChangeUserEmail'; userId: string; email: string }
  | { type: 'DeactivateUser'; userId: string; reason?: string | null }
  | { type: 'EraseUserData'; userId: string }
  /** `otherActiveAdmins`: how many active admins there are besides this user (the caller counts them). */
  | { type: 'ChangeUserRole'; userId: string; role: UserRole; otherActiveAdmins: number }
  | { type: 'ReactivateUser'; userId: string }
  | { type: 'IssuePasswordReset'; userId: string; resetId: string; tokenHash: string; expiresAt: string }
  /** `tokenHash` is the sha256 of the token presented; `now` the caller's clock. */
  | { type: 'ResetPassword'; userId: string; tokenHash: string; passwordHash: string; now: string };

export interface PendingReset {
  resetId: string;
  tokenHash: string;
  expiresAt: string;
}

export interface UserState {
  status: 'unregistered' | 'active' | 'deactivated' | 'erased';
  email: string | null;
  passwordHash: string | null;
  role: UserRole | null;
  /** The latest password reset issued and not yet used (null once used, superseded or void). */
  reset: PendingReset | null;
}

export const MAX_EMAIL_LENGTH = 254;
export const MAX_DISPLAY_NAME_LENGTH = 100;
export const MAX_REASON_LENGTH = 500;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Emails compare case-insensitively; one canonical form is stored and used for uniqueness. */
export function normalizeEmail(raw: string): string {
  const email = checkText(raw, 'Email', 'single-line').trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH) throw new DomainError('BAD_USER_INPUT', `Email must be at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL.test(email)) throw new DomainError('BAD_USER_INPUT', 'Email is not a valid address');
  return email;
}

export function normalizeDisplayName(raw: string): string {
  const name = checkText(raw, 'Display name', 'single-line').trim();
  if (name.length === 0 || name.length > MAX_DISPLAY_NAME_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `Display name must be 1 to ${MAX_DISPLAY_NAME_LENGTH} characters`);
  }
  return name;
}

/** The decider stores only hashes, never a password; hashing happens before the command is made. */
function checkHash(hash: string): string {
  if (!hash.startsWith('$argon2id$')) throw new DomainError('BAD_USER_INPUT', 'Password must be given as an argon2id hash');
  return hash;
}

function checkTokenHash(hash: string): void {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new DomainError('BAD_USER_INPUT', 'Token hash must be a sha256 hex digest');
}

function refuseUnlessActive(state: UserState): void {
  if (state.status === 'unregistered' || state.status === 'erased') throw new DomainError('NOT_FOUND', 'User not found');
  if (state.status === 'deactivated') throw new DomainError('CONFLICT', 'User is deactivated');
}

export const userStream = (userId: string) => `user-${userId}`;

export const userPersonalData: Readonly<Record<string, PersonalFields>> = {
  UserRegistered: { subjectField: 'userId', fields: ['email', 'displayName'] },
  UserEmailChanged: { subjectField: 'userId', fields: ['email'] },
  UserPasswordSet: { subjectField: 'userId', fields: ['passwordHash'] },
};

export const userDecider: Decider<UserCommand, UserState, UserEvent> = {
  initialState: () => ({ status: 'unregistered', email: null, passwordHash: null, role: null, reset: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered':
        return { ...state, status: 'active', email: event.data.email };
      case 'UserEmailChanged':
        return { ...state, email: event.data.email };
      case 'UserDeactivated':
        return { ...state, status: 'deactivated', reset: null };
      case 'UserDataErased':
        return { status: 'erased', email: null, passwordHash: null, role: state.role, reset: null };
      case 'UserPasswordSet':
        return { ...state, passwordHash: event.data.passwordHash };
      case 'UserRoleAssigned':
        return { ...state, role: event.data.role };
      case 'UserReactivated':
        return { ...state, status: 'active' };
      case 'PasswordResetIssued':
        return { ...state, reset: { resetId: event.data.resetId, tokenHash: event.data.tokenHash, expiresAt: event.data.expiresAt } };
      case 'PasswordResetCompleted':
        return { ...state, reset: null };
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'RegisterUser': {
        if (state.status !== 'unregistered') throw new DomainError('CONFLICT', 'User is already registered');
        return [{
          type: 'UserRegistered',
          data: { userId: command.userId, email: normalizeEmail(command.email), displayName: normalizeDisplayName(command.displayName) },
        }];
      }
      case 'RegisterAccount': {
        const [registered] = userDecider.decide({ type: 'RegisterUser', userId: command.userId, email: command.email, displayName: command.displayName }, state);
        return [
          registered!,
          { type: 'UserPasswordSet', data: { userId: command.userId, passwordHash: checkHash(command.passwordHash) } },
          { type: 'UserRoleAssigned', data: { userId: command.userId, role: command.role } },
        ];
      }
      case 'SetUserPassword': {
        if (state.status === 'unregistered' || state.status === 'erased') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'deactivated') throw new DomainError('CONFLICT', 'User is deactivated');
        return [{ type: 'UserPasswordSet', data: { userId: command.userId, passwordHash: checkHash(command.passwordHash) } }];
      }
      case 'ChangeUserEmail': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'deactivated') throw new DomainError('CONFLICT', 'User is deactivated');
        if (state.status === 'erased') throw new DomainError('CONFLICT', "User's data was erased");
        const email = normalizeEmail(command.email);
        if (email === state.email) return [];
        return [{ type: 'UserEmailChanged', data: { userId: command.userId, email } }];
      }
      case 'DeactivateUser': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'deactivated' || state.status === 'erased') return [];
        const reason = command.reason === null || command.reason === undefined ? null : checkText(command.reason, 'Reason').trim() || null;
        if (reason && reason.length > MAX_REASON_LENGTH) {
          throw new DomainError('BAD_USER_INPUT', `Reason must be at most ${MAX_REASON_LENGTH} characters`);
        }
        return [{ type: 'UserDeactivated', data: { userId: command.userId, reason } }];
      }
      case 'EraseUserData': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'erased') return [];
        return [{ type: 'UserDataErased', data: { userId: command.userId } }];
      }
      case 'ChangeUserRole': {
        refuseUnlessActive(state);
        if (command.role !== 'admin' && command.role !== 'member') throw new DomainError('BAD_USER_INPUT', `Unknown role: ${String(command.role)}`);
        if (state.role === command.role) return [];
        if (state.role === 'admin' && command.otherActiveAdmins < 1) {
          throw new DomainError('CONFLICT', 'This is the last active admin: make someone else admin first');
        }
        return [{ type: 'UserRoleAssigned', data: { userId: command.userId, role: command.role } }];
      }
      case 'ReactivateUser': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'erased') throw new DomainError('CONFLICT', "User's data was erased: the account cannot be reactivated");
        if (state.status === 'active') return [];
        return [{ type: 'UserReactivated', data: { userId: command.userId } }];
      }
      case 'IssuePasswordReset': {
        refuseUnlessActive(state);
        checkTokenHash(command.tokenHash);
        if (Number.isNaN(Date.parse(command.expiresAt))) throw new DomainError('BAD_USER_INPUT', 'Expiry must be an ISO date');
        return [{
          type: 'PasswordResetIssued',
          data: { userId: command.userId, resetId: command.resetId, tokenHash: command.tokenHash, expiresAt: command.expiresAt },
        }];
      }
      case 'ResetPassword': {
        const now = Date.parse(command.now);
        if (Number.isNaN(now)) throw new DomainError('BAD_USER_INPUT', 'The time must be an ISO date');
        const reset = state.reset;
        // One answer for every way a token can fail: unknown, used, superseded, expired, account gone.
        if (state.status !== 'active' || !reset || reset.tokenHash !== command.tokenHash || now >= Date.parse(reset.expiresAt)) {
          throw new DomainError('RESET_TOKEN_INVALID', 'The password reset link is invalid or has expired');
        }
        return [
          { type: 'PasswordResetCompleted', data: { userId: command.userId, resetId: reset.resetId } },
          { type: 'UserPasswordSet', data: { userId: command.userId, passwordHash: checkHash(command.passwordHash) } },
        ];
      }
    }
  },

  schemaVersions: {
    UserRegistered: 1, UserEmailChanged: 1, UserDeactivated: 1, UserDataErased: 1, UserPasswordSet: 1, UserRoleAssigned: 1,
    UserReactivated: 1, PasswordResetIssued: 1, PasswordResetCompleted: 1,
  },
};
