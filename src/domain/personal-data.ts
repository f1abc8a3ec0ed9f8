import type { PersonalFields } from './decider.ts';
import { sessionPersonalData } from './account/session.ts';
import { apiKeyPersonalData } from './api-key/api-key.ts';
import { conversationPersonalData } from './conversation/conversation.ts';
import { documentPersonalData } from './document/document.ts';
import { knowledgeBasePersonalData } from './knowledge-base/knowledge-base.ts';
import { userPersonalData } from './user/user.ts';

/** Every event type's personal fields, for the codec that encrypts them in the log. */
export const personalDataRules: Readonly<Record<string, PersonalFields>> = {
  ...userPersonalData,
  ...sessionPersonalData,
  ...conversationPersonalData,
  ...documentPersonalData,
  ...knowledgeBasePersonalData,
  ...apiKeyPersonalData,
};
