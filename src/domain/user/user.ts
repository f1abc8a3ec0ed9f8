import { DomainError, type Decider, type DomainEvent, type PersonalFields } from '../decider.ts';

export type UserEvent =
  | DomainEvent<'UserRegistered', { userId: string; email: string; displayName: string }>
  | DomainEvent<'UserEmailChanged', { userId: string; email: string }>
  | DomainEvent<'UserDeactivated', { userId: string; reason: string | null }>;

export type UserCommand =
  | { type: 'RegisterUser'; userId: string; email: string; displayName: string }
  | { type: 'ChangeUserEmail'; userId: string; email: string }
  | { type: 'DeactivateUser'; userId: string; reason?: string | null };

export interface UserState {
  status: 'unregistered' | 'active' | 'deactivated';
  email: string | null;
}

export const MAX_EMAIL_LENGTH = 254;
export const MAX_DISPLAY_NAME_LENGTH = 100;
export const MAX_REASON_LENGTH = 500;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Emails compare case-insensitively; one canonical form is stored and used for uniqueness. */
export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_EMAIL_LENGTH) throw new DomainError('BAD_USER_INPUT', `Email must be at most ${MAX_EMAIL_LENGTH} characters`);
  if (!EMAIL.test(email)) throw new DomainError('BAD_USER_INPUT', 'Email is not a valid address');
  return email;
}

function normalizeDisplayName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > MAX_DISPLAY_NAME_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `Display name must be 1 to ${MAX_DISPLAY_NAME_LENGTH} characters`);
  }
  return name;
}

export const userStream = (userId: string) => `user-${userId}`;

export const userPersonalData: Readonly<Record<string, PersonalFields>> = {
  UserRegistered: { subjectField: 'userId', fields: ['email', 'displayName'] },
  UserEmailChanged: { subjectField: 'userId', fields: ['email'] },
};

export const userDecider: Decider<UserCommand, UserState, UserEvent> = {
  initialState: () => ({ status: 'unregistered', email: null }),

  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered':
        return { status: 'active', email: event.data.email };
      case 'UserEmailChanged':
        return { ...state, email: event.data.email };
      case 'UserDeactivated':
        return { ...state, status: 'deactivated' };
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
      case 'ChangeUserEmail': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'deactivated') throw new DomainError('CONFLICT', 'User is deactivated');
        const email = normalizeEmail(command.email);
        if (email === state.email) return [];
        return [{ type: 'UserEmailChanged', data: { userId: command.userId, email } }];
      }
      case 'DeactivateUser': {
        if (state.status === 'unregistered') throw new DomainError('NOT_FOUND', 'User not found');
        if (state.status === 'deactivated') return [];
        const reason = command.reason?.trim() || null;
        if (reason && reason.length > MAX_REASON_LENGTH) {
          throw new DomainError('BAD_USER_INPUT', `Reason must be at most ${MAX_REASON_LENGTH} characters`);
        }
        return [{ type: 'UserDeactivated', data: { userId: command.userId, reason } }];
      }
    }
  },

  schemaVersions: { UserRegistered: 1, UserEmailChanged: 1, UserDeactivated: 1 },
};
