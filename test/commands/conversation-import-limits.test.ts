import { afterAll, describe, expect, it } from 'vitest';
import { importConversations } from '../../src/commands/conversation-import.ts';
import { conversationStream, MAX_IMPORTED_MESSAGES } from '../../src/domain/conversation/conversation.ts';
import { MAX_EVENTS_PER_APPEND } from '../../src/infra/event-store/port.ts';
import { commandContext, domainEventStore } from '../support/domain-event-store.ts';

// An imported conversation is one append (so it is never half-written): the longest one the import
// accepts must fit in one. It did not once: 2,000 messages were accepted by the parser and then
// refused by the store ("An append holds at most 1000 events").
describe('importing the longest conversation allowed', () => {
  const { store, close } = domainEventStore();
  afterAll(close);

  it('fits MAX_IMPORTED_MESSAGES messages and the import event in one append', () => {
    expect(MAX_IMPORTED_MESSAGES + 1).toBeLessThanOrEqual(MAX_EVENTS_PER_APPEND);
  });

  it(`records a conversation of ${MAX_IMPORTED_MESSAGES} messages`, async () => {
    const messages = Array.from({ length: MAX_IMPORTED_MESSAGES }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i + 1}` }));
    const result = await importConversations({ store, defaultModel: 'm' },
      { ownerId: 'u1', format: 'open-webui', text: JSON.stringify([{ title: 'long', chat: { messages } }]) }, commandContext('u1'));
    expect(result.conversations).toHaveLength(1);
    const events = await store.readStream(conversationStream(result.conversations[0]!.conversationId));
    expect(events).toHaveLength(MAX_IMPORTED_MESSAGES + 1);
  });
});
