// The web app in real Chromium against the real server process (embedded default) and the fake
// provider process: register, start a conversation, watch a reply render progressively, cancel
// one, survive a dropped connection, and hostile Markdown, titles and links. Also the HttpOnly
// session cookie, the Content-Security-Policy, axe on every page state, and the screenshots.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditPage, browserSkipReason, captureFailure, launchChromium, newPage, registerInBrowser, startNetworkLink, UI_TIMEOUT_MS, type NetworkLink } from './browser.ts';
import { eventually, gql, removeTempDirs, startFakeProvider, startServer, stopAllProcesses, tempDir, type ProviderProcess, type ServerProcess } from './support.ts';

const skip = browserSkipReason('web chat (e2e)');
const PERSON = { name: 'Ada Admin', email: 'ada@example.test', password: 'correct horse battery staple' };

/** Records, in the page, every distinct text the streaming reply showed (a MutationObserver sees each render). */
async function recordPartialRenders(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { partials: string[] }).partials = seen;
    const note = () => {
      for (const reply of document.querySelectorAll('article[data-status="STREAMING"] .markdown')) {
        const text = (reply.textContent ?? '').trim();
        if (text && seen[seen.length - 1] !== text) seen.push(text);
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const partials = (page: Page) => page.evaluate(() => (window as unknown as { partials: string[] }).partials);
const lastReply = (page: Page) => page.locator('article.reply').last();

describe.skipIf(skip)('web app: chat (e2e)', () => {
  let provider: ProviderProcess;
  let server: ServerProcess;
  let origin: string;
  let link: NetworkLink;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    provider = await startFakeProvider();
    server = await startServer({ dataDir: tempDir(), providerUrl: provider.url, defaultModel: 'fake-slow-50' });
    // The browser reaches the server through a link the test can cut.
    link = await startNetworkLink(new URL(server.url));
    origin = link.origin;
    browser = await launchChromium();
    ({ page, problems } = await newPage(browser, origin));
  });
  afterEach(async (context) => captureFailure(context, page));
  afterAll(async () => {
    await browser?.close();
    await link?.close();
    await stopAllProcesses();
    removeTempDirs();
  });

  it('serves the app at / with a Content-Security-Policy that allows no inline script', async () => {
    const response = await fetch(`${origin}/`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script at all
    // A deep link is the app too; the API keeps its own paths.
    expect((await fetch(`${origin}/c/some-conversation`, { headers: { accept: 'text/html' } })).status).toBe(200);
    expect((await fetch(`${origin}/graphql?query=%7Bhealth%7D`)).status).toBe(200);
  });

  it('signs in and out through the forms, the session in a cookie no script can read', async () => {
    await page.goto('/');
    expect(await auditPage(page, 'sign-in')).toEqual([]);
    await page.getByRole('button', { name: /create one/i }).click();
    expect(await auditPage(page, 'register')).toEqual([]);
    await registerInBrowser(page, PERSON);
    expect(await page.evaluate(() => document.cookie)).not.toContain('evident_session');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'evident_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // Script in the page can call the API (same origin, the cookie rides along) but never sees the token.
    const me = await page.evaluate(async () => (await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { email } }' }) })).json());
    expect(me).toEqual({ data: { me: { email: PERSON.email } } });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Evident' }).waitFor();
    expect((await page.context().cookies()).find((c) => c.name === 'evident_session')).toBeUndefined();
    await page.getByLabel('Email').fill(PERSON.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/email or password/i);
    await page.getByLabel('Password').fill(PERSON.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  });

  it('streams a reply in as rendered Markdown, at least two partial renders before it completes', async () => {
    await page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await page.waitForURL(/\/c\/[\w-]+$/);
    await recordPartialRenders(page);
    const question = 'please explain **event sourcing** in a few more words than usual for this test';
    await page.getByLabel('Message', { exact: true }).fill(question);
    await page.keyboard.press('Enter');
    await page.locator('article.mine', { hasText: 'event sourcing' }).waitFor();
    await lastReply(page).and(page.locator('[data-status="COMPLETE"]')).waitFor();
    const final = (await lastReply(page).locator('.markdown').textContent())?.trim();
    expect(final).toBe(`You said: ${question.replace(/\*\*/g, '')}`);
    // The bold came through as Markdown, not as asterisks.
    expect(await lastReply(page).locator('.markdown strong').textContent()).toBe('event sourcing');
    const seen = await partials(page);
    expect(new Set(seen).size, `partial renders: ${JSON.stringify(seen)}`).toBeGreaterThanOrEqual(2);
    // Each a beginning of the reply (an unclosed ** shows as typed until its closing pair arrives).
    expect(seen.every((text) => final!.startsWith(text.replace(/\*/g, '')) && text.length <= final!.length), JSON.stringify(seen)).toBe(true);
    expect(seen.filter((text) => text.length < final!.length).length).toBeGreaterThanOrEqual(2);
    await lastReply(page).getByRole('button', { name: 'Details' }).click();
    await expect.poll(() => lastReply(page).locator('dl.details').textContent()).toMatch(/\d+ in, \d+ out, \d+ total/);
    expect(await auditPage(page, 'chat')).toEqual([]);
  });

  it('cancels a reply while it streams, keeping the text so far', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Model').selectOption({ label: 'openai/fake-slow-2000' });
    await page.getByLabel('System prompt').fill('Answer briefly.');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect(await auditPage(page, 'chat-settings')).toEqual([]);
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Message', { exact: true }).fill('one two three four five six seven eight nine ten');
    await page.getByRole('button', { name: 'Send' }).click();
    await lastReply(page).and(page.locator('[data-status="STREAMING"]')).locator('.markdown', { hasText: 'You' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await lastReply(page).and(page.locator('[data-status="CANCELLED"]')).waitFor();
    expect(await lastReply(page).locator('.badge').textContent()).toBe('stopped');
    const kept = (await lastReply(page).locator('.markdown').textContent())?.trim();
    expect('You said: one two three four five six seven eight nine ten'.startsWith(kept!)).toBe(true);
    expect(kept!.length).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
  });

  it('reconnects after the network drops and shows the reply that finished meanwhile', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Model').selectOption({ label: 'openai/fake-slow-200' });
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';
    await page.getByLabel('Message', { exact: true }).fill(words);
    await page.getByRole('button', { name: 'Send' }).click();
    await lastReply(page).and(page.locator('[data-status="STREAMING"]')).locator('.markdown', { hasText: 'You' }).waitFor();
    link.drop();
    await page.getByText('Connection lost. Reconnecting…').waitFor();
    // Meanwhile the reply finishes on the server.
    const conversationId = new URL(page.url()).pathname.split('/').pop()!;
    const { login } = await gql<{ login: { token: string } }>(server.url, 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: PERSON.email, p: PERSON.password });
    await eventually(async () => {
      const data = await gql<{ conversation: { messages: { edges: { node: { status: string } }[] } } }>(server.url,
        'query ($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { status } } } } }', { id: conversationId }, login.token);
      return data.conversation.messages.edges[0]?.node.status === 'COMPLETE' ? true : undefined;
    }, 'the reply completes on the server', 120_000);
    link.restore();
    await lastReply(page).and(page.locator('[data-status="COMPLETE"]')).waitFor();
    expect((await lastReply(page).locator('.markdown').textContent())?.trim()).toBe(`You said: ${words}`);
    await expect.poll(() => page.getByText('Connection lost. Reconnecting…').count()).toBe(0);
  });

  it('renders hostile replies, titles and links inert', async () => {
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Model').selectOption({ label: 'openai/fake-echo' });
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const payload = '<script>window.pwned=1</script> <img src=x onerror="window.pwned=2"> [click me](javascript:window.pwned=3) '
      + '<a href="javascript:window.pwned=4">raw</a> <svg onload="window.pwned=5"></svg> [ok](https://example.test/)';
    await page.getByLabel('Message', { exact: true }).fill(payload);
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.locator('article.reply[data-status="COMPLETE"]', { hasText: 'window.pwned=1' });
    await reply.waitFor();
    expect(await reply.locator('.markdown script, .markdown img, .markdown svg, .markdown [onerror], .markdown [onload]').count()).toBe(0);
    expect(await reply.locator('.markdown a[href^="javascript"]').count()).toBe(0);
    expect(await reply.locator('.markdown').textContent()).toContain('<script>window.pwned=1</script>');
    await reply.getByText('click me').click();
    expect(await reply.locator('a[href="https://example.test/"]').getAttribute('rel')).toContain('noopener');

    // A title is text wherever it shows.
    const title = '<img src=x onerror="window.pwned=6">';
    await page.locator('li.current').getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('New title').fill(title);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: title }).waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('highlights code blocks and copies them with their button', async () => {
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await page.getByLabel('Message', { exact: true }).fill('code:\n```ts\nconst answer = 42;\n```');
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.locator('article.reply[data-status="COMPLETE"]', { hasText: 'const answer' });
    await reply.waitFor();
    expect(await reply.locator('.code-block .hljs-keyword').first().textContent()).toBe('const');
    await reply.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('const answer = 42;');
  });

  it('switches to German and to the dark theme, and keeps both across a reload', async () => {
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('button', { name: 'Neue Unterhaltung' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('de');
    await page.getByRole('button', { name: 'Dunkles Design' }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    await page.getByRole('navigation', { name: 'Hauptmenü' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    // No untranslated key shows (i18next shows the key itself when one is missing).
    expect(await page.locator('body').innerText()).not.toMatch(/\b(?:nav|chat|errors|theme)\.[a-zA-Z]+\b/);
    expect(await auditPage(page, 'chat-de-dark')).toEqual([]);
    await page.getByRole('button', { name: 'Helles Design' }).click();
    await page.getByLabel('Sprache').selectOption('en');
    await page.getByRole('button', { name: 'New conversation', exact: true }).waitFor();
  });

  it('is usable by keyboard: skip link, composer, send with Enter', async () => {
    await page.goto('/');
    // Only once the app has rendered (signed in) does the first Tab reach its first link.
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.getByRole('button', { name: 'New conversation', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/c\/[\w-]+$/);
    await page.getByLabel('Message', { exact: true }).focus();
    await page.keyboard.type('typed by keyboard');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    await page.keyboard.press('Enter');
    await page.locator('article.mine', { hasText: 'typed by keyboard' }).waitFor();
    expect(await page.locator('article.mine', { hasText: 'typed by keyboard' }).innerText()).toContain('typed by keyboard\nsecond line');
    // The reply's end moves this conversation's updatedAt: left streaming, it could finish after the
    // next test's rename and put this conversation back on top of the list.
    await lastReply(page).and(page.locator('[data-status="COMPLETE"]')).waitFor();
  });

  it('lists, searches, archives and deletes conversations', async () => {
    const first = page.url();
    await page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await page.waitForURL((url) => /\/c\/[\w-]+$/.test(url.pathname) && url.href !== first);
    const second = page.url();
    const item = page.locator('li.current').filter({ has: page.locator(`a[href="${new URL(second).pathname}"]`) });
    await item.getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('New title').fill('Quarterly planning');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'Quarterly planning' }).waitFor();
    // Newest first.
    await expect.poll(() => page.locator('.conversation-list .conversation-link').first().textContent()).toBe('Quarterly planning');
    await page.getByLabel('Search conversations').fill('quarterly');
    await expect.poll(() => page.locator('.conversation-list .conversation-link').allTextContents()).toEqual(['Quarterly planning']);
    await page.getByLabel('Search conversations').fill('');
    await page.getByRole('button', { name: 'Archive Quarterly planning' }).click();
    await expect.poll(() => page.locator('.conversation-list .conversation-link', { hasText: 'Quarterly planning' }).count()).toBe(0);
    await page.getByLabel('Show archived').check();
    await page.locator('.conversation-list .conversation-link', { hasText: 'Quarterly planning' }).waitFor();
    await page.getByRole('button', { name: 'Delete Quarterly planning' }).click();
    await expect.poll(() => page.locator('.conversation-list .conversation-link', { hasText: 'Quarterly planning' }).count()).toBe(0);
    expect(page.url()).not.toBe(second);
    expect(problems).toEqual([]);
  });
  it('shows the sign-in form as soon as its session is ended elsewhere', async () => {
    const { login } = await gql<{ login: { token: string } }>(server.url, 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: PERSON.email, p: PERSON.password });
    const { mySessions } = await gql<{ mySessions: Array<{ id: string; current: boolean; active: boolean }> }>(server.url, '{ mySessions { id current active } }', {}, login.token);
    for (const session of mySessions.filter((s) => !s.current && s.active)) {
      await gql(server.url, 'mutation ($id: ID!) { revokeSession(id: $id) }', { id: session.id }, login.token);
    }
    // The next thing the page asks the server for is refused: it goes back to the sign-in form.
    await page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in to Evident' }).waitFor();
    expect(problems).toEqual([]);
  });
});
