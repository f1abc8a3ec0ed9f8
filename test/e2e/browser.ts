// Real Chromium for the web app's end-to-end tests: Debian's `chromium` package (never a browser
// download) driven with playwright-core. Also axe-core run inside the page, and screenshots at the
// two widths a person should look at, written to reports/screenshots/ (an artifact, not committed).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { skipReason } from '../support/requirements.ts';

const require = createRequire(import.meta.url);
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../reports/screenshots/', import.meta.url));
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WIDTHS = [1280, 375] as const;
/** Generous: a busy 2-core machine runs the server, its projections and the browser at once. */
export const UI_TIMEOUT_MS = 30_000;

/** The skip line of a browser suite on a machine without Chromium (on CI, where it is installed, it fails instead). */
export function browserSkipReason(suite: string): string | undefined {
  return skipReason(suite, existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
  });
}

/** A fresh context (its own cookies) at the server's origin, failing the test on any page error. */
export async function newPage(browser: Browser, origin: string, options: { width?: number; locale?: string } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ baseURL: origin, viewport: { width: options.width ?? 1280, height: 900 }, locale: options.locale ?? 'en-US' });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', (dialog) => {
    if (dialog.type() === 'confirm') return void dialog.accept();
    problems.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return { context, page, problems };
}

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: { target: string[]; html: string }[] }

/**
 * axe-core's serious and critical violations on the page as it is now. The script goes in through
 * the DevTools protocol (page.evaluate), which the page's Content-Security-Policy does not cover;
 * the page itself could not load it, as it allows no inline script.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const violations = await page.evaluate(async (source) => {
    if (!(window as unknown as { axe?: unknown }).axe) (0, eval)(source);
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, html: n.html.slice(0, 200) })) }));
  }, AXE_SOURCE);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Screenshots of the page at 1280 and 375 px wide (full page), then back to the width it had. */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 900 };
  const written: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const path = join(SCREENSHOT_DIR, `${name}-${width}.png`);
    await page.screenshot({ path, fullPage: true });
    written.push(path);
  }
  await page.setViewportSize(original);
  return written;
}

/** axe at both widths (a narrow layout can hide or overlap things) and the screenshots; returns the violations. */
export async function auditPage(page: Page, name: string): Promise<AxeViolation[]> {
  const found: AxeViolation[] = [];
  const original = page.viewportSize() ?? { width: 1280, height: 900 };
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    found.push(...(await seriousViolations(page)).map((v) => ({ ...v, help: `${v.help} (at ${width} px)` })));
  }
  await page.setViewportSize(original);
  await screenshots(page, name);
  return found;
}

/** Registers through the app's form (the first account of an installation is its admin). */
export async function registerInBrowser(page: Page, person: { email: string; password: string; name: string }): Promise<void> {
  await page.goto('/');
  await page.getByRole('button', { name: /create one/i }).click();
  await page.getByLabel('Name').fill(person.name);
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export async function signInInBrowser(page: Page, person: { email: string; password: string }): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(person.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** After a failed test: a screenshot and the page's text, to see what the browser showed. */
export async function captureFailure(context: { task: { name: string; result?: { state?: string } } }, page: Page | undefined): Promise<void> {
  if (!page || context.task.result?.state !== 'fail') return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const name = `failed-${context.task.name.replace(/[^\w]+/g, '-').slice(0, 60)}`;
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true }).catch(() => undefined);
  const text = await page.locator('body').innerText().catch((error: Error) => error.message);
  console.error(`${context.task.name}: the page showed (screenshot ${name}.png):\n${text.slice(0, 3000)}`);
}

export interface NetworkLink {
  /** http://127.0.0.1:<port>: point the browser here. */
  origin: string;
  /** The network drops: every open connection is cut and new ones are refused until restore(). */
  drop(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay between the browser and the server, to cut the network for real (Chromium's offline
 * emulation fails new requests but leaves an open event stream running).
 */
export async function startNetworkLink(target: URL): Promise<NetworkLink> {
  const open = new Set<Socket>();
  let down = false;
  const relay = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    open.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port } = relay.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    drop() {
      down = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of open) socket.destroy();
      relay.close(() => resolve());
    }),
  };
}
