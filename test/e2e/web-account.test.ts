// The account page in real Chromium against the real server process (embedded default): the
// profile, a password change that keeps this browser signed in, the active sessions of two browsers
// and the revocation of the other one, my activity paged newest first, API keys, the data export as
// a downloaded JSON file, and deleting the account behind a typed confirmation. Also axe and the
// screenshots of every page state.
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditPage, browserSkipReason, captureFailure, launchChromium, newPage, registerInBrowser, signInInBrowser, UI_TIMEOUT_MS } from './browser.ts';
import { gql, removeTempDirs, startServer, stopAllProcesses, tempDir, type ServerProcess } from './support.ts';

const skip = browserSkipReason('web account (e2e)');
const PERSON = { name: 'Grace Hopper', email: 'grace@example.test', password: 'correct horse battery staple' };
const NEW_PASSWORD = 'a brand new passphrase 42';

const openAccount = async (page: Page) => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await page.getByRole('heading', { level: 1, name: 'Account' }).waitFor();
};
const sessionRows = (page: Page) => page.locator('table.sessions tbody tr');
const activityRows = (page: Page) => page.locator('table.activity tbody tr');
const signInHeading = (page: Page) => page.getByRole('heading', { name: 'Sign in to Evident' });

describe.skipIf(skip)('web app: account (e2e)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let other: { context: BrowserContext; page: Page; problems: string[] } | undefined;

  beforeAll(async () => {
    server = await startServer({ dataDir: tempDir() });
    browser = await launchChromium();
    ({ page, problems } = await newPage(browser, server.url));
  });
  afterEach(async (context) => {
    await captureFailure(context, page);
    await captureFailure({ task: { ...context.task, name: `${context.task.name} (second browser)` } }, other?.page);
  });
  afterAll(async () => {
    await browser?.close();
    await stopAllProcesses();
    removeTempDirs();
  });

  it('shows the profile of the person signed in', async () => {
    await registerInBrowser(page, PERSON);
    await openAccount(page);
    const profile = page.getByRole('region', { name: 'Profile' });
    await expect.poll(() => profile.locator('dd').allTextContents()).toEqual([PERSON.name, PERSON.email, 'Administrator']);
    // Every section has its heading.
    expect(await page.getByRole('heading', { level: 2 }).allTextContents()).toEqual(
      ['Profile', 'Change password', 'Active sessions', 'My activity', 'API keys', 'Export my data', 'Delete my account']);
    await sessionRows(page).first().waitFor();
    await activityRows(page).first().waitFor();
    expect(await auditPage(page, 'account')).toEqual([]);
  });

  it('changes the password, keeps this browser signed in, and only the new password signs in', async () => {
    const form = page.getByRole('region', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await form.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.getByRole('alert').textContent(), { timeout: UI_TIMEOUT_MS }).toBe('The current password is not right.');
    expect(await auditPage(page, 'account-password-error')).toEqual([]);

    await form.getByLabel('Repeat the new password').fill('something else entirely');
    await form.getByLabel('Current password').fill(PERSON.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toBe('The two new passwords are not the same.');

    await form.getByLabel('Repeat the new password').fill(NEW_PASSWORD);
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByRole('status').filter({ hasText: 'Your password was changed.' }).waitFor();
    expect(await form.getByRole('alert').count()).toBe(0);
    // The change ended every session, this one included: the new token keeps this browser signed in.
    await expect.poll(() => sessionRows(page).count()).toBe(1);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Account' }).waitFor();
    await expect.poll(() => sessionRows(page).count()).toBe(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInHeading(page).waitFor();
    await page.getByLabel('Email').fill(PERSON.email);
    await page.getByLabel('Password').fill(PERSON.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/email or password/i);
    await signInInBrowser(page, { email: PERSON.email, password: NEW_PASSWORD });
  });

  it('lists the sessions of two browsers and signs the other one out', async () => {
    other = await newPage(browser, server.url);
    await signInInBrowser(other.page, { email: PERSON.email, password: NEW_PASSWORD });
    await openAccount(page);
    await expect.poll(() => sessionRows(page).count()).toBe(2);
    const current = sessionRows(page).filter({ hasText: 'this session' });
    expect(await current.count()).toBe(1);
    // This session cannot be signed out from here (the Sign out button in the header does that).
    expect(await current.getByRole('button').count()).toBe(0);
    await expect.poll(() => sessionRows(page).first().locator('td').nth(1).textContent()).toMatch(/127\.0\.0\.1|::1|::ffff:127\.0\.0\.1/);
    expect(await sessionRows(page).first().locator('.device').textContent()).toMatch(/Chrome \d+ on Linux/);
    expect(await auditPage(page, 'account-sessions')).toEqual([]);

    const revoke = page.getByRole('button', { name: /^Sign out the session of / });
    expect(await revoke.count()).toBe(1);
    await revoke.click();
    await page.getByRole('status').filter({ hasText: 'was signed out' }).waitFor();
    await expect.poll(() => sessionRows(page).count()).toBe(1);
    expect(await sessionRows(page).filter({ hasText: 'this session' }).count()).toBe(1);
    // The other browser's next request is signed out.
    await other.page.reload();
    await signInHeading(other.page).waitFor();
    expect(await other.page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
  });

  it('shows my activity newest first, a page at a time', async () => {
    const section = page.getByRole('region', { name: 'My activity' });
    const passwordChange = activityRows(page).filter({ hasText: 'Password changed' });
    await expect.poll(async () => {
      if ((await passwordChange.count()) > 0) return true;
      await section.getByRole('button', { name: 'Refresh' }).click();
      return false;
    }, { timeout: UI_TIMEOUT_MS }).toBe(true);
    expect(await passwordChange.locator('td').nth(2).textContent()).toBe('you');
    expect(await activityRows(page).filter({ hasText: 'Account created' }).count()).toBeGreaterThan(0);
    expect(await activityRows(page).filter({ hasText: 'Failed sign-in' }).count()).toBeGreaterThan(0);

    // More than a page of activity: knowledge bases made through the API (its session ended after).
    const { login } = await gql<{ login: { token: string } }>(server.url,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: PERSON.email, p: NEW_PASSWORD });
    for (let i = 1; i <= 25; i++) {
      await gql(server.url, 'mutation ($name: String!) { createKnowledgeBase(name: $name) { id } }', { name: `Base ${i}` }, login.token);
    }
    await gql(server.url, 'mutation { logout }', {}, login.token);
    const created = activityRows(page).filter({ hasText: 'Knowledge base created' });
    // The logout is the newest entry; below it the newest 19 of the 25 bases fill the first page.
    await expect.poll(async () => {
      await section.getByRole('button', { name: 'Refresh' }).click();
      await section.getByRole('status').filter({ hasText: 'entries shown' }).waitFor();
      return [await activityRows(page).first().locator('td').nth(1).textContent(), await created.count()];
    }, { timeout: UI_TIMEOUT_MS }).toEqual(['Session ended', 19]);
    expect(await activityRows(page).count()).toBe(20);
    expect(await passwordChange.count()).toBe(0);
    await section.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => activityRows(page).count()).toBeGreaterThan(20);
    await expect.poll(() => created.count()).toBe(25);
    await passwordChange.first().waitFor();
    const times = await activityRows(page).locator('time').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('datetime') ?? ''));
    expect(times.length).toBeGreaterThan(20);
    expect([...times].sort().reverse()).toEqual(times);
    expect(await auditPage(page, 'account-activity')).toEqual([]);
  });

  it('creates an API key shown once, and revokes it', async () => {
    const section = page.getByRole('region', { name: 'API keys' });
    await section.getByLabel('Name').fill('Nightly <b>report</b>');
    await section.getByLabel(/^Chat/).check();
    await section.getByRole('button', { name: 'Create key' }).click();
    const key = section.getByLabel('Your new key “Nightly <b>report</b>”');
    await key.waitFor();
    const value = await key.inputValue();
    expect(value.length).toBeGreaterThan(20);
    await section.getByText('it is shown only this once').waitFor();
    expect(await section.locator('table.api-keys tbody tr').filter({ hasText: 'Nightly <b>report</b>' }).locator('td').nth(2).textContent()).toBe('Read, Chat');
    expect(await page.locator('main b').count()).toBe(0);
    expect(await auditPage(page, 'account-api-key-created')).toEqual([]);
    // The key works for a program, within its scopes.
    expect(await gql<{ me: { email: string } }>(server.url, '{ me { email } }', {}, value)).toEqual({ me: { email: PERSON.email } });

    await section.getByRole('button', { name: 'I have saved it' }).click();
    expect(await section.getByLabel(/^Your new key/).count()).toBe(0);
    await section.getByRole('button', { name: 'Revoke the API key Nightly <b>report</b>' }).click();
    await section.getByRole('status').filter({ hasText: 'was revoked' }).waitFor();
    await expect.poll(() => section.locator('table.api-keys').count()).toBe(0);
    await section.getByText('No API keys.').waitFor();
  });

  it('downloads my data as a JSON file', async () => {
    const section = page.getByRole('region', { name: 'Export my data' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Download my data' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^evident-my-data-\d{4}-\d{2}-\d{2}\.json$/);
    const text = await readFile((await download.path())!, 'utf8');
    const data = JSON.parse(text) as unknown;
    expect(typeof data).toBe('object');
    expect(text).toContain(PERSON.email);
    expect(text).toContain('Base 25');
    await section.getByRole('status').filter({ hasText: 'Your data was downloaded.' }).waitFor();
  });

  it('reads well in the dark theme', async () => {
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await auditPage(page, 'account-dark')).toEqual([]);
    await page.getByRole('button', { name: 'Light theme' }).click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).not.toBe('dark');
  });

  it('shows the page in German', async () => {
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('heading', { level: 1, name: 'Konto' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Aktive Sitzungen' }).waitFor();
    await activityRows(page).filter({ hasText: 'Passwort geändert' }).first().waitFor();
    expect(await auditPage(page, 'account-de')).toEqual([]);
    await page.getByLabel('Sprache').selectOption('en');
    await page.getByRole('heading', { level: 1, name: 'Account' }).waitFor();
  });

  it('deletes the account after the email is typed, and it cannot sign in again', async () => {
    const zone = page.getByRole('region', { name: 'Delete my account' });
    await zone.getByRole('button', { name: 'Delete my account…' }).click();
    const confirm = zone.getByRole('button', { name: 'Delete my account permanently' });
    const typed = zone.getByLabel(`To confirm, type your email address (${PERSON.email})`);
    await expect.poll(() => typed.evaluate((node) => node === document.activeElement)).toBe(true);
    expect(await confirm.isDisabled()).toBe(true);
    await typed.fill('someone@example.test');
    expect(await confirm.isDisabled()).toBe(true);
    expect(await auditPage(page, 'account-delete-confirm')).toEqual([]);
    // Cancel closes it and gives the focus back.
    await zone.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => zone.getByRole('button', { name: 'Delete my account…' }).evaluate((node) => node === document.activeElement)).toBe(true);

    await zone.getByRole('button', { name: 'Delete my account…' }).click();
    await typed.fill(PERSON.email.toUpperCase());
    await expect.poll(() => confirm.isEnabled()).toBe(true);
    await confirm.click();
    await signInHeading(page).waitFor();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/');
    expect((await page.context().cookies()).find((c) => c.name === 'evident_session')).toBeUndefined();

    await page.getByLabel('Email').fill(PERSON.email);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_TIMEOUT_MS }).toMatch(/email or password/i);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect(problems).toEqual([]);
    expect(other?.problems ?? []).toEqual([]);
  });
});
