// A conversation of 2,000 messages in the web app (real Chromium, real server): the thread is
// virtualised (a few dozen messages in the DOM, not 2,000), older messages load on scrolling up,
// and a reply streaming in touches only its own message: no other message's DOM changes per token.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/graphql/security.ts';
import { auditPage, browserSkipReason, captureFailure, launchChromium, newPage, signInInBrowser } from './browser.ts';
import { eventually, gql, removeTempDirs, signUp, startFakeProvider, startServer, stopAllProcesses, tempDir, type ServerProcess } from './support.ts';

const skip = browserSkipReason('web long chat (e2e)');
const MESSAGES = 2_000;

function openWebUiExport(): string {
  const messages = Array.from({ length: MESSAGES }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: i % 2 === 0 ? `Question number ${i + 1}` : `Answer number ${i + 1} with **bold** text and code:\n\n\`\`\`ts\nconst n = ${i + 1};\n\`\`\``,
  }));
  return JSON.stringify([{ title: 'A very long chat', chat: { messages } }]);
}

async function importConversation(server: ServerProcess, token: string): Promise<string> {
  const form = new FormData();
  form.set('operations', JSON.stringify({
    query: 'mutation ($file: File!) { importConversations(file: $file, format: OPEN_WEBUI) { conversations { id messageCount } } }',
    variables: { file: null },
  }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new File([openWebUiExport()], 'export.json', { type: 'application/json' }));
  const response = await fetch(server.url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}`, [CSRF_HEADER]: '1' } });
  const body = await response.json() as { data?: { importConversations: { conversations: { id: string; messageCount: number }[] } }; errors?: unknown };
  const conversation = body.data?.importConversations.conversations[0];
  if (!conversation) throw new Error(`import failed: ${JSON.stringify(body)}`);
  // On a busy machine the answer can come before the read model shows all of it (flagged pending).
  await eventually(async () => {
    const data = await gql<{ conversation: { messageCount: number } }>(server.url, 'query ($id: ID!) { conversation(id: $id) { messageCount } }', { id: conversation.id }, token);
    return data.conversation.messageCount === MESSAGES ? true : undefined;
  }, `the imported conversation shows ${MESSAGES} messages`, 120_000);
  return conversation.id;
}

describe.skipIf(skip)('web app: a conversation of 2,000 messages (e2e)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let conversationId: string;

  beforeAll(async () => {
    const provider = await startFakeProvider();
    server = await startServer({ dataDir: tempDir(), providerUrl: provider.url, defaultModel: 'fake-slow-50' });
    const person = await signUp(server.url);
    conversationId = await importConversation(server, person.token);
    browser = await launchChromium();
    ({ page, problems } = await newPage(browser, new URL(server.url).origin));
    await signInInBrowser(page, { email: person.email, password: 'correct horse battery staple' });
  });
  afterEach(async (context) => captureFailure(context, page));
  afterAll(async () => {
    await browser?.close();
    await stopAllProcesses();
    removeTempDirs();
  });

  it('shows the end of the thread with only a window of messages in the DOM', async () => {
    await page.goto(`/c/${conversationId}`);
    await page.locator('article.reply', { hasText: `Answer number ${MESSAGES} with` }).waitFor();
    const inDom = await page.locator('article.message').count();
    expect(inDom).toBeGreaterThan(0);
    expect(inDom).toBeLessThanOrEqual(60);
    expect(await auditPage(page, 'chat-long')).toEqual([]);
  });

  it('loads older messages when scrolled to the top', async () => {
    // The first page holds the last 50 messages; scrolling up brings earlier ones into the DOM.
    const lowestShown = () => page.locator('article.message').evaluateAll((articles) => Math.min(
      ...articles.map((a) => Number(/number (\d+)/.exec(a.textContent ?? '')?.[1] ?? Infinity))));
    expect(await lowestShown()).toBeGreaterThan(MESSAGES - 50);
    await expect.poll(async () => {
      await page.getByTestId('messages').evaluate((element) => { element.scrollTop = 0; });
      return lowestShown();
    }, { timeout: 60_000 }).toBeLessThanOrEqual(MESSAGES - 50);
    expect(await page.locator('article.message').count()).toBeLessThanOrEqual(60);
  });

  it('streams a reply in touching only that reply: no other message re-renders per token', async () => {
    await expect.poll(async () => {
      await page.getByTestId('messages').evaluate((element) => { element.scrollTop = element.scrollHeight; });
      return page.locator('article.reply', { hasText: `Answer number ${MESSAGES} with` }).count();
    }, { timeout: 60_000 }).toBe(1);
    await page.evaluate(() => {
      const foreign: string[] = [];
      (window as unknown as { foreign: string[] }).foreign = foreign;
      new MutationObserver((records) => {
        for (const record of records) {
          const target = record.target instanceof Element ? record.target : record.target.parentElement;
          const article = target?.closest('article.message');
          // The new question and the streaming reply change; any other message must not.
          if (article && article.getAttribute('data-status') !== 'STREAMING' && !article.textContent?.includes('one more question')) {
            foreign.push(article.textContent?.slice(0, 60) ?? '');
          }
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
      // Within the streaming reply: once its second paragraph has begun, the first is done and
      // must not be parsed or rendered again (the Markdown is rendered block by block).
      const state = window as unknown as { firstBlock?: Element; firstBlockChanges: number };
      state.firstBlockChanges = 0;
      new MutationObserver((records) => {
        const blocks = document.querySelectorAll('article[data-status="STREAMING"] .md-block');
        if (!state.firstBlock) {
          // The batch that brings the second block may also hold the first block's last words:
          // two deltas can reach the page in one render on a busy machine. Count from the next one.
          if (blocks.length >= 2) state.firstBlock = blocks[0]!;
          return;
        }
        for (const record of records) {
          const target = record.target instanceof Element ? record.target : record.target.parentElement;
          if (state.firstBlock && target && state.firstBlock.contains(target) && target.closest('article[data-status="STREAMING"]')) state.firstBlockChanges += 1;
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByLabel('Message', { exact: true }).fill('one more question with several words\n\nand a second paragraph to stream back slowly');
    await page.keyboard.press('Enter');
    await page.locator('article.reply[data-status="COMPLETE"]', { hasText: 'You said: one more question' }).waitFor();
    // The thread keeps the conversation's order: the older pages loaded above stay above the
    // latest page, which the send reloads (a merge that put them after it hid the new reply).
    const lastThree = await page.locator('article.message').evaluateAll((articles) => articles.slice(-3).map((a) => a.textContent ?? ''));
    expect(lastThree.map((text) => /Answer number 2000 |one more question|You said/.exec(text)?.[0])).toEqual(['Answer number 2000 ', 'one more question', 'You said']);
    const first = await page.evaluate(() => {
      const state = window as unknown as { firstBlock?: Element; firstBlockChanges: number };
      return { seen: Boolean(state.firstBlock), stillShown: Boolean(state.firstBlock?.isConnected), changes: state.firstBlockChanges, text: state.firstBlock?.textContent?.trim() };
    });
    expect(first).toEqual({ seen: true, stillShown: true, changes: 0, text: 'You said: one more question with several words' });
    const foreign = await page.evaluate(() => (window as unknown as { foreign: string[] }).foreign);
    // The reply's own switch from streaming to complete is the one change allowed once it is done.
    expect(foreign.filter((text) => !text.includes('You said: one more question'))).toEqual([]);
    expect(problems).toEqual([]);
  });
});
