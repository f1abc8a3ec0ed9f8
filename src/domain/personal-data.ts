import type { PersonalFields } from './decider.ts';
import { conversationPersonalData } from './conversation/conversation.ts';
import { userPersonalData } from './user/user.ts';

/** Every event type's personal fields, for the codec that encrypts them in the log. */
export const personalDataRules: Readonly<Record<string, PersonalFields>> = {
  ...userPersonalData,
  ...conversationPersonalData,
};
