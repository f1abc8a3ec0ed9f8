import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationStream } from '../../src/domain/conversation/conversation.ts';
import { fails, getConversation, newUser, ok, SEND, startConversation, startTestApp, type TestApp, type TestUser } from './support.ts';


describe('GraphQL without an AI provider configured (no OPENAI_BASE_URL)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startTestApp({ provider: false });
    user = await newUser(t.yoga);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts and answers', async () => {
    expect(t.app.config.openai).toBeUndefined();
    expect(t.app.providers.isConfigured).toBe(false);
    expect(await ok(t.yoga, '{ health }')).toEqual({ health: 'ok' });
  });

  it('models is an empty list', async () => {
    expect(await ok(t.yoga, '{ models { id provider } }', {}, user.token)).toEqual({ models: [] });
  });

  it('startConversation works with an explicit model; without one (and no DEFAULT_MODEL) it asks for one', async () => {
    const conversation = await startConversation(t.yoga, user.token, { title: 'Offline', model: 'llama3.2' });
    expect(conversation).toMatchObject({ title: 'Offline', model: 'llama3.2', messageCount: 0 });
    const error = await fails(t.yoga, 'mutation { startConversation { id } }', {}, user.token);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(/model/i);
  });

  it('sendMessage answers PROVIDER_NOT_CONFIGURED and appends nothing', async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'llama3.2' });
    const before = await t.app.store.readStream(conversationStream(conversation.id));
    const head = await t.app.store.headPosition();

    const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'anyone home?' }, user.token);
    expect(error.code).toBe('PROVIDER_NOT_CONFIGURED');
    expect(error.message).toContain('OPENAI_BASE_URL');
    expect(error.result.data).toBeNull();

    expect(await t.app.store.readStream(conversationStream(conversation.id))).toEqual(before);
    expect(await t.app.store.headPosition()).toBe(head);
    expect((await getConversation(t.yoga, user.token, conversation.id)).messageCount).toBe(0);
  });

  it("sendMessage to someone else's conversation is NOT_FOUND, not PROVIDER_NOT_CONFIGURED", async () => {
    const conversation = await startConversation(t.yoga, user.token, { model: 'llama3.2' });
    const stranger = await newUser(t.yoga);
    const error = await fails(t.yoga, SEND, { conversationId: conversation.id, content: 'hello' }, stranger.token);
    expect(error.code).toBe('NOT_FOUND');
  });
});
