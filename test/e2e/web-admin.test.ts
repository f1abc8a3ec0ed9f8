// The admin area in real Chromium against the real server process (embedded default): the live
// audit feed shows a new person's registration as it happens (no reload), the users list
// deactivates, reactivates, resets and erases them, and every projection is listed and one is
// rebuilt. Also sign-up and invites, the tabs' keyboard use, axe on every state, and the screenshots.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditPage, browserSkipReason, captureFailure, launchChromium, newPage, registerInBrowser, startNetworkLink, UI_TIMEOUT_MS, type NetworkLink } from './browser.ts';
import { gql, gqlRaw, removeTempDirs, signUp, startServer, stopAllProcesses, tempDir, type ServerProcess } from './support.ts';

const skip = browserSkipReason('web admin (e2e)');
/** expect.poll with the UI's bound (its default of 1 s is too short for a refresh every few seconds on a busy machine). */
const poll = <T>(probe: () => T | Promise<T>) => expect.poll(probe, { timeout: UI_TIMEOUT_MS });
const ADMIN = { name: 'Ada Admin', email: 'ada-admin@example.test', password: 'correct horse battery staple' };

describe.skipIf(skip)('web app: admin (e2e)', () => {
  let server: ServerProcess;
  let origin: string;
  let link: NetworkLink;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let person: { token: string; userId: string; email: string };
  let adminToken: string;

  const tab = (name: string) => page.getByRole('tab', { name });
  const personItem = () => page.locator('li.user-item', { hasText: person.email });

  beforeAll(async () => {
    server = await startServer({ dataDir: tempDir() });
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

  it('opens the admin area for the first account, with tabs usable by keyboard', async () => {
    await registerInBrowser(page, ADMIN);
    ({ login: { token: adminToken } } = await gql<{ login: { token: string } }>(server.url,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: ADMIN.email, p: ADMIN.password }));
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { level: 1, name: 'Admin' }).waitFor();
    await poll(() => tab('Users').getAttribute('aria-selected')).toBe('true');
    await page.locator('li.user-item', { hasText: ADMIN.email }).waitFor();
    // Arrow keys move between the tabs (and the address follows), Home goes back to the first.
    await tab('Users').focus();
    await page.keyboard.press('ArrowRight');
    await poll(() => tab('Projections').getAttribute('aria-selected')).toBe('true');
    expect(new URL(page.url()).search).toBe('?tab=projections');
    await poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Projections');
    await page.keyboard.press('Home');
    await poll(() => tab('Users').getAttribute('aria-selected')).toBe('true');
    expect(await auditPage(page, 'admin-users')).toEqual([]);
  });

  it("shows a new person's registration in the live audit feed without reloading", async () => {
    await tab('Audit log').click();
    await page.locator('[data-feed="live"]').waitFor();
    await page.locator('li.audit-event[data-type="UserRegistered"]').first().waitFor();
    // Anything that reloaded the page would drop this.
    await page.evaluate(() => { (window as unknown as { unreloaded: boolean }).unreloaded = true; });
    expect(await auditPage(page, 'admin-audit')).toEqual([]);

    person = await signUp(server.url);
    const arrived = page.locator(`li.audit-event[data-live="true"][data-type="UserRegistered"][data-stream="user-${person.userId}"]`);
    await arrived.waitFor();
    expect(await page.evaluate(() => (window as unknown as { unreloaded?: boolean }).unreloaded)).toBe(true);
    // Newest first: it is above the older events (the admin's own registration), marked new; the names
    // of its personal fields show, never their values.
    expect(await page.locator('li.audit-event[data-type="UserRegistered"]').first().getAttribute('data-stream')).toBe(`user-${person.userId}`);
    expect(await arrived.locator('.badge-new').textContent()).toBe('new');
    expect(await arrived.locator('.audit-personal').textContent()).toMatch(/email, displayName/);
    expect(await arrived.textContent()).not.toContain(person.email);
    await arrived.getByText('Details').click();
    await poll(() => arrived.locator('dl.details').textContent()).toContain(person.userId);
    await poll(() => page.getByRole('status').filter({ hasText: /new events?\./ }).textContent()).toMatch(/\d+ new events?\./);
    expect(await auditPage(page, 'admin-audit-live')).toEqual([]);

    // A filter narrows the log (and the feed) to the types asked for.
    await page.getByText('Filters', { exact: true }).click();
    await page.getByLabel('Event types').fill('UserRegistered');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await poll(async () => new Set(await page.locator('li.audit-event').evaluateAll((items) => items.map((item) => item.getAttribute('data-type'))))).toEqual(new Set(['UserRegistered']));
    await poll(() => page.locator('li.audit-event').count()).toBe(2);
    expect(await auditPage(page, 'admin-audit-filtered')).toEqual([]);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await poll(async () => new Set(await page.locator('li.audit-event').evaluateAll((items) => items.map((item) => item.getAttribute('data-type')))).size).toBeGreaterThan(1);
  });

  it('the live feed reconnects after the network drops and shows what was recorded meanwhile', async () => {
    await page.locator('[data-feed="live"]').waitFor();
    link.drop();
    await page.locator('[data-feed="reconnecting"]').waitFor();
    expect(await auditPage(page, 'admin-audit-reconnecting')).toEqual([]);
    const meanwhile = await signUp(server.url);
    link.restore();
    await page.locator(`li.audit-event[data-live="true"][data-type="UserRegistered"][data-stream="user-${meanwhile.userId}"]`).waitFor();
    await page.locator('[data-feed="live"]').waitFor();
    expect(await page.evaluate(() => (window as unknown as { unreloaded?: boolean }).unreloaded)).toBe(true);
  });

  it('finds the new person, deactivates, reactivates, resets and erases them; the last admin stays', async () => {
    await tab('Users').click();
    await page.getByLabel('Search by email or name').fill(person.email.slice(0, 20));
    await poll(() => page.locator('li.user-item').count()).toBe(1);
    await personItem().waitFor();

    await personItem().getByRole('button', { name: 'Deactivate E2E' }).click();
    await page.getByLabel('Reason (optional)').fill('testing <b>deactivation</b>');
    expect(await auditPage(page, 'admin-users-deactivate')).toEqual([]);
    await page.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'E2E was deactivated.' }).waitFor();
    await personItem().getByText('Deactivated', { exact: true }).waitFor();
    const refused = await gqlRaw(server.url, 'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { token } }',
      { e: person.email, p: 'correct horse battery staple' });
    expect(refused.errors?.length).toBeGreaterThan(0);
    // Only deactivated people.
    await page.getByLabel('Status').selectOption({ label: 'Deactivated' });
    await poll(() => page.locator('li.user-item').count()).toBe(1);
    await personItem().getByRole('button', { name: 'Reactivate E2E' }).click();
    await page.getByRole('status').filter({ hasText: 'E2E was reactivated.' }).waitFor();
    await poll(() => page.locator('li.user-item').count()).toBe(0);
    await page.getByLabel('Status').selectOption({ label: 'Any status' });
    await personItem().getByText('Active', { exact: true }).waitFor();

    await personItem().getByRole('button', { name: 'Issue a password reset for E2E' }).click();
    const token = (await personItem().locator('code.secret').textContent())?.trim() ?? '';
    expect(token.length).toBeGreaterThan(20);
    await gql(server.url, 'mutation ($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }', { t: token, p: 'another horse battery staple' });
    expect(await auditPage(page, 'admin-users-reset')).toEqual([]);
    await personItem().getByRole('button', { name: 'Done, hide it' }).click();

    // A name is text wherever it shows.
    const hostile = '<img src=x onerror="window.pwned=1">';
    await gql(server.url, 'mutation ($n: String!) { register(email: "hostile@example.test", password: "correct horse battery staple", displayName: $n) { id } }', { n: hostile });
    await page.getByLabel('Search by email or name').fill('hostile@');
    await page.getByRole('heading', { level: 3, name: hostile }).waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    // The last active admin cannot be made a member: the error says so.
    await page.getByLabel('Search by email or name').fill(ADMIN.email);
    const admin = page.locator('li.user-item', { hasText: ADMIN.email });
    await admin.getByRole('button', { name: `Make member: ${ADMIN.name}` }).click();
    await admin.getByRole('alert').filter({ hasText: 'This is the last active admin' }).waitFor();
    expect(await auditPage(page, 'admin-users-last-admin')).toEqual([]);

    await page.getByLabel('Search by email or name').fill(person.email);
    await personItem().getByRole('button', { name: 'Erase E2E' }).click();
    const erase = page.getByRole('button', { name: 'Erase for good' });
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel(`Type ${person.email} to confirm`).fill(person.email);
    expect(await auditPage(page, 'admin-users-erase')).toEqual([]);
    await erase.click();
    await page.getByRole('status').filter({ hasText: 'E2E was erased.' }).waitFor();
    await poll(() => personItem().count()).toBe(0);
    await page.getByText('No users match.').waitFor();

    // Their events stay in the audit log, marked erased.
    await tab('Audit log').click();
    await page.getByText('Filters', { exact: true }).click();
    await page.getByLabel('Subject id (the person it is about)').fill(person.userId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await poll(() => page.locator('li.audit-event[data-type="UserRegistered"] .audit-personal .badge').first().textContent()).toBe('erased');
  });

  it('lists every projection with its state and rebuilds one back to running and caught up', async () => {
    const { projections } = await gql<{ projections: { name: string }[] }>(server.url, '{ projections { name } }', {}, adminToken);
    await tab('Projections').click();
    const rows = page.locator('li[data-projection]');
    await poll(async () => (await rows.evaluateAll((items) => items.map((item) => item.getAttribute('data-projection')))).sort())
      .toEqual(projections.map((p) => p.name).sort());
    expect(projections.length).toBeGreaterThan(5);
    for (const state of await rows.locator('[data-state]').allTextContents()) expect(state).toMatch(/^(running|standby|failed|rebuilding|stopped)$/);
    expect(await auditPage(page, 'admin-projections')).toEqual([]);

    const signup = page.locator('li[data-projection="signup"]');
    await signup.getByRole('button', { name: 'Rebuild signup' }).click();
    await page.getByRole('status').filter({ hasText: 'signup was rebuilt; it is running.' }).waitFor();
    await poll(() => signup.locator('[data-state]').getAttribute('data-state')).toBe('running');
    await poll(() => signup.locator('[data-caught-up]').getAttribute('data-caught-up')).toBe('true');
    await signup.getByText('caught up').waitFor();
    // The refresh keeps running: the time of the last update moves on.
    const updated = await page.getByText(/^How far each read model/).textContent();
    await poll(() => page.getByText(/^How far each read model/).textContent()).not.toBe(updated);
  });

  it('sets the sign-up policy and creates and revokes an invite', async () => {
    await tab('Sign-up').click();
    await page.getByLabel(/^Invite only/).check();
    await page.getByRole('button', { name: 'Save sign-up policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Sign-up is now: Invite only.' }).waitFor();
    const closed = await gqlRaw(server.url, 'mutation { register(email: "x@example.test", password: "correct horse battery staple", displayName: "X") { id } }');
    expect(closed.errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');

    await page.getByLabel('Maximum uses (optional)').fill('2');
    await page.getByRole('button', { name: 'Create invite' }).click();
    const code = (await page.locator('code.secret').textContent())?.trim() ?? '';
    expect(code.length).toBeGreaterThan(10);
    await page.getByRole('cell', { name: '0 of 2' }).waitFor();
    expect(await auditPage(page, 'admin-signup')).toEqual([]);
    await page.getByRole('button', { name: /^Revoke invite/ }).click();
    await page.getByRole('cell', { name: 'revoked' }).waitFor();
    const revoked = await gqlRaw(server.url, 'mutation ($c: String) { register(email: "y@example.test", password: "correct horse battery staple", displayName: "Y", inviteCode: $c) { id } }', { c: code });
    expect(revoked.errors?.[0]?.extensions?.code).toBe('INVITE_INVALID');

    await page.getByLabel(/^Open/).check();
    await page.getByRole('button', { name: 'Save sign-up policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Sign-up is now: Open.' }).waitFor();
    // Dark theme, German: the same page passes axe too.
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('tab', { name: 'Audit-Protokoll' }).click();
    await page.locator('[data-feed="live"]').waitFor();
    expect(await auditPage(page, 'admin-audit-dark-de')).toEqual([]);
    await page.getByLabel('Sprache').selectOption('en');
    await page.getByRole('button', { name: 'Light theme' }).click();
    expect(problems).toEqual([]);
  });
});
