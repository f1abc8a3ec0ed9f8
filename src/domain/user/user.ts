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
  | DomainEvent<'UserDataErased', { userId: string }>;

export type UserRole = 'admin' | 'member';

export type UserCommand =
  | { type: 'RegisterUser'; userId: string; email: string; displayName: string }
  /** A user who can log in: registered, with a password and a role, in one atomic append. */
  | { type: 'RegisterAccount'; userId: string; email: string; displayName: string; passwordHash: string; role: UserRole }
  | { type: 'SetUserPassword'; userId: string; passwordHash: string }
  | { type: 'ChangeUserEmail'; userId: string; email: string }
  | { type: 'DeactivateUser'; userId: string; reason?: string | null }
  | { type: 'EraseUserData'; userId: string };

export interface UserState {
  status: 'unregistered' | 'active' | 'deactivated' | 'erased';
  email: string | null;
  passwordHash: string | null;
  role: UserRole | null;
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

export const userStream = (userId: string) => `user-${userId}`;

export const userPersonalData: Readonly<Record<string, PersonalFields>> = {
  UserRegistered: { subjectField: 'userId', fields: ['email', 'displayName'] },
  UserEmailChanged: { subjectField: 'userId', fields: ['email'] },
  UserPasswordSet: { subjectField: 'userId', fields: ['passwordHash'] },
};

export const userDecider: Decider<UserCommand, UserState, UserEvent> = {
  initialState: () => ({ status: 'unregistered', email: null, passwordHash: null, role: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered':
        return { ...state, status: 'active', email: event.data.email };
      case 'UserEmailChanged':
        return { ...state, email: event.data.email };
      case 'UserDeactivated':
        return { ...state, status: 'deactivated' };
      case 'UserDataErased':
        return { status: 'erased', email: null, passwordHash: null, role: state.role };
      case 'UserPasswordSet':
        return { ...state, passwordHash: event.data.passwordHash };
      case 'UserRoleAssigned':
        return { ...state, role: event.data.role };
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
    }
  },

  schemaVersions: { UserRegistered: 1, UserEmailChanged: 1, UserDeactivated: 1, UserDataErased: 1, UserPasswordSet: 1, UserRoleAssigned: 1 },
};
