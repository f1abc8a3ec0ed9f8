// Test 6: `npm start` with no AI provider configured. The server starts all the same; accounts and
// conversations work; sendMessage answers PROVIDER_NOT_CONFIGURED and appends nothing.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_SCRIPT_ASSIGNMENT } from '../../scripts/start-script-env.mjs';
import {
  conversationMessages, gql, gqlRaw, MAIN, removeTempDirs, signUp, startConversation, startServer, stopAllProcesses, tempDir,
  type ServerProcess,
} from './support.ts';

describe('e2e: npm start without any AI provider', () => {
  let server: ServerProcess;
  let token: string;

  beforeAll(async () => {
    // startServer runs what the start script runs, with the variables it sets; make sure that is
    // still the launcher (through `exec`, so that npm's signals reach it) after those assignments.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start.replace(START_SCRIPT_ASSIGNMENT, '').trim()).toBe('exec node scripts/start.mjs');
    expect(MAIN.endsWith('/scripts/start.mjs')).toBe(true);

    server = await startServer({ dataDir: tempDir() }); // no OPENAI_BASE_URL, no DEFAULT_MODEL
    ({ token } = await signUp(server.url));
  });

  afterAll(async () => {
    try {
      if (server) expect(await server.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await stopAllProcesses();
      removeTempDirs();
    }
  });

  it('starts and says no provider is configured', async () => {
    expect(server.ready).toMatchObject({ providers: 'none', eventStore: 'sqlite', readDb: 'pglite', pubsub: 'memory' });
    expect(await gql(server.url, '{ health }')).toEqual({ health: 'ok' });
    expect(await gql(server.url, '{ models { id } }', {}, token)).toEqual({ models: [] });
  });

  it('sendMessage answers PROVIDER_NOT_CONFIGURED and stores nothing', async () => {
    const conversationId = await startConversation(server.url, token, 'any-model');
    const result = await gqlRaw<{ sendMessage: unknown }>(server.url,
      'mutation ($id: ID!) { sendMessage(conversationId: $id, content: "hello?") { id } }', { id: conversationId }, token);
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.extensions?.code).toBe('PROVIDER_NOT_CONFIGURED');
    expect(result.errors![0]!.message).toMatch(/OPENAI_BASE_URL/);
    expect(await conversationMessages(server.url, token, conversationId)).toEqual([]);
  });

  it('still answers NOT_FOUND, not PROVIDER_NOT_CONFIGURED, for a conversation that is not yours', async () => {
    const conversationId = await startConversation(server.url, token, 'any-model');
    const stranger = await signUp(server.url);
    const result = await gqlRaw(server.url,
      'mutation ($id: ID!) { sendMessage(conversationId: $id, content: "hello?") { id } }', { id: conversationId }, stranger.token);
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
