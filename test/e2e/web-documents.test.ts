// The documents page in real Chromium against the real server process (embedded default), the fake
// provider and the fake embeddings server: upload two files at once (one named with an XSS payload)
// and watch each pass from the bytes sent through the ingestion stages to ready; a file over the
// server's limit is refused with the limit named; a knowledge base; the document attached to a new
// conversation whose reply cites it; the citation's source link opens the document view on the
// cited passage, highlighted; and the document deleted. axe and screenshots on every page state.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEmbeddingsServer, type FakeEmbeddingsServer } from '../support/fake-embeddings-server.ts';
import { auditPage, browserSkipReason, captureFailure, launchChromium, newPage, registerInBrowser } from './browser.ts';
import { removeTempDirs, startFakeProvider, startServer, stopAllProcesses, tempDir, type ProviderProcess, type ServerProcess } from './support.ts';

const skip = browserSkipReason('web documents (e2e)');
const PERSON = { name: 'Dana Docs', email: 'dana@example.test', password: 'correct horse battery staple' };
const HOSTILE_NAME = '<img src=x onerror="window.pwned=1">.md';
const CONTENT = '# Launch checklist\n\nThe launch code for the Andromeda probe is ZULU-7-42. Keep the launch code in the red binder.\n';
const OTHER_NAME = 'tides.md';
const OTHER = '# Tides\n\nSpring tides on the Rance estuary rise thirteen metres.\n';
/** Small, so that a file over it is quick to send. */
const UPLOAD_LIMIT = 64 * 1024;
/** The stages the page shows for a good upload, in the order they happen (en). */
const STAGES = ['Waiting to be sent', 'Sending', 'Uploaded, waiting to be processed', 'Extracting the text', 'Text extracted', 'Split into passages', 'Indexing the passages', 'Ready'];

/** Records, in the page, every distinct status text each upload showed (a MutationObserver sees each render). */
async function recordStages(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { stages: Record<string, string[]> }).stages = seen;
    const note = () => {
      for (const item of document.querySelectorAll('li.upload')) {
        const name = item.querySelector('.upload-name')?.textContent ?? '';
        const status = item.querySelector('[role="status"]')?.textContent ?? '';
        const list = (seen[name] ??= []);
        if (status && list[list.length - 1] !== status) list.push(status);
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

const stagesOf = (page: Page, name: string) => page.evaluate((key) => (window as unknown as { stages: Record<string, string[]> }).stages[key] ?? [], name);
const pwned = (page: Page) => page.evaluate(() => (window as unknown as { pwned?: unknown }).pwned);

describe.skipIf(skip)('web app: documents (e2e)', () => {
  let provider: ProviderProcess;
  let embeddings: FakeEmbeddingsServer;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let documentId: string;

  beforeAll(async () => {
    provider = await startFakeProvider();
    embeddings = await startFakeEmbeddingsServer();
    server = await startServer({
      dataDir: tempDir(), providerUrl: provider.url, defaultModel: 'fake-echo',
      env: { EMBEDDINGS_BASE_URL: embeddings.url, EMBEDDINGS_MODEL: 'fake-embed-64', MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT) },
    });
    browser = await launchChromium();
    ({ page, problems } = await newPage(browser, new URL(server.url).origin));
  });
  afterEach(async (context) => captureFailure(context, page));
  afterAll(async () => {
    await browser?.close();
    await embeddings?.close();
    await stopAllProcesses();
    removeTempDirs();
  });

  it('uploads two files at once and shows each going from the bytes sent through the ingestion stages to ready, the hostile name as text', async () => {
    await registerInBrowser(page, PERSON);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Documents' }).click();
    await page.getByRole('heading', { level: 1, name: 'Documents' }).waitFor();
    await page.getByText('No documents yet. Upload one above.').waitFor();
    expect(await auditPage(page, 'documents-empty')).toEqual([]);

    await recordStages(page);
    await page.getByLabel('Choose files to upload').setInputFiles([
      { name: HOSTILE_NAME, mimeType: 'text/markdown', buffer: Buffer.from(CONTENT) },
      { name: OTHER_NAME, mimeType: 'text/markdown', buffer: Buffer.from(OTHER) },
    ]);
    for (const name of [HOSTILE_NAME, OTHER_NAME]) {
      const upload = page.locator('li.upload').filter({ has: page.locator('.upload-name', { hasText: name }) });
      await upload.getByRole('status').filter({ hasText: /^Ready$/ }).waitFor();
      expect(await upload.locator('progress').evaluate((bar: HTMLProgressElement) => [bar.value, bar.max])).toEqual([100, 100]);
      const seen = await stagesOf(page, name);
      // First the bytes, then (as far as the stream showed them) the stages, in order, to ready.
      expect(seen, JSON.stringify(seen)).toContain('Sending');
      expect(seen.at(-1)).toBe('Ready');
      expect(seen.every((text) => STAGES.includes(text)), JSON.stringify(seen)).toBe(true);
      const order = seen.map((text) => STAGES.indexOf(text));
      expect(order, JSON.stringify(seen)).toEqual([...order].sort((a, b) => a - b));
    }
    expect(await auditPage(page, 'documents-uploaded')).toEqual([]);

    const row = page.locator('table.documents-table tbody tr').filter({ has: page.locator('th', { hasText: HOSTILE_NAME }) });
    await expect.poll(() => row.locator('td.document-status').textContent()).toBe('Ready');
    expect(await row.locator('td').first().textContent()).toBe('Markdown');
    documentId = (await row.getAttribute('data-document-id'))!;
    expect(documentId).toBeTruthy();
    // The name is text everywhere it shows: no element made of it, nothing run.
    expect(await page.locator('main img').count()).toBe(0);
    expect(await pwned(page)).toBeUndefined();
  });

  it('refuses a file over the server\'s limit (before reading it) and says what the limit is', async () => {
    await page.getByLabel('Choose files to upload').setInputFiles({ name: 'huge.txt', mimeType: 'text/plain', buffer: Buffer.alloc(UPLOAD_LIMIT * 32, 'a') });
    const upload = page.locator('li.upload').filter({ has: page.locator('.upload-name', { hasText: 'huge.txt' }) });
    await upload.getByRole('status').filter({ hasText: 'Not uploaded' }).waitFor();
    expect(await upload.getByRole('alert').textContent()).toBe('The file is too large: this server takes files of up to 64 kB.');
    expect(await auditPage(page, 'documents-refused')).toEqual([]);
    await upload.getByRole('button', { name: 'Dismiss huge.txt' }).click();
    await expect.poll(() => upload.count()).toBe(0);
  });

  it('uploads a new version of a document (a multipart request), followed to ready like the others', async () => {
    const row = page.locator('table.documents-table tbody tr').filter({ has: page.locator('th', { hasText: OTHER_NAME }) });
    await page.locator(`input[type="file"][aria-label="Upload a new version of ${OTHER_NAME}"]`).setInputFiles(
      { name: 'tides-2.md', mimeType: 'text/markdown', buffer: Buffer.from(`${OTHER}\nNeap tides rise far less.\n`) },
    );
    const upload = page.locator('li.upload').filter({ has: page.locator('.upload-name', { hasText: `New version of ${OTHER_NAME} (tides-2.md)` }) });
    await upload.getByRole('status').filter({ hasText: /^Ready$/ }).waitFor();
    // The list reads the document again at each stage: it catches up with the upload's own feed.
    await expect.poll(() => row.locator('td[data-label="Version"]').textContent()).toBe('2');
    await expect.poll(() => row.locator('td.document-status').textContent()).toBe('Ready');
  });

  it('makes a knowledge base of a document', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Space programme');
    await page.getByLabel('Description (optional)').fill('Probes and launches');
    await page.getByRole('button', { name: 'Create knowledge base' }).click();
    await page.getByRole('status').filter({ hasText: 'Created “Space programme”.' }).waitFor();
    const card = page.locator('li.kb-card').filter({ has: page.getByRole('heading', { name: 'Space programme' }) });
    await card.getByLabel('Add a document to Space programme').selectOption({ label: HOSTILE_NAME });
    await card.getByRole('button', { name: 'Add to Space programme' }).click();
    await card.getByRole('list', { name: 'Documents in Space programme' }).getByRole('link', { name: HOSTILE_NAME }).waitFor();
    await expect.poll(() => card.getByText('1 document', { exact: true }).count()).toBe(1);
    expect(await auditPage(page, 'documents-knowledge-base')).toEqual([]);
  });

  it('attaches the document to a new conversation whose reply cites it, and the citation opens the cited passage', async () => {
    const attach = page.locator('section.attach-panel');
    await attach.getByLabel('Conversation').selectOption({ label: 'A new conversation' });
    await attach.getByRole('group', { name: 'Documents' }).getByLabel(HOSTILE_NAME).check();
    await attach.getByRole('button', { name: 'Use for this conversation' }).click();
    await attach.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    expect(await auditPage(page, 'documents-attached')).toEqual([]);
    await attach.getByRole('link', { name: 'Open the conversation' }).click();
    await page.waitForURL(/\/c\/[\w-]+$/);

    const question = 'What is the launch code? Answer with [1]';
    await page.getByLabel('Message', { exact: true }).fill(question);
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.locator('article.reply[data-status="COMPLETE"]').last();
    await reply.waitFor();
    expect((await reply.locator('.markdown').textContent())?.trim()).toBe(`You said: ${question}`);
    // [1] is a citation that opens the cited passage; the sources below the reply link there too.
    const source = reply.getByRole('list', { name: 'Sources' }).getByRole('link').first();
    expect(await source.getAttribute('href')).toMatch(new RegExp(`^/documents/${documentId}\\?chunk=`));
    const citation = reply.locator('.markdown a[href="#cite-1"]');
    expect(await citation.textContent()).toBe('[1]');
    await citation.click();

    await page.waitForURL((url) => url.pathname === `/documents/${documentId}` && url.searchParams.has('chunk'));
    const chunkId = new URL(page.url()).searchParams.get('chunk')!;
    await page.getByRole('heading', { level: 1, name: HOSTILE_NAME }).waitFor();
    const cited = page.locator('.cited-passage blockquote.passage.cited');
    await cited.waitFor();
    expect(await cited.getAttribute('data-chunk-id')).toBe(chunkId);
    expect(await cited.textContent()).toContain('The launch code for the Andromeda probe is ZULU-7-42.');
    // The whole text is there too, the cited passage marked in it.
    expect(await page.locator('.document-text blockquote.passage.cited').getAttribute('data-chunk-id')).toBe(chunkId);
    // Scrolled to and focused, so a keyboard or screen-reader user lands on it too.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-chunk-id'))).toBe(chunkId);
    const box = await cited.evaluate((element) => {
      const rect = element.getBoundingClientRect();
      return { top: rect.top, bottom: rect.bottom, height: window.innerHeight };
    });
    expect(box.top).toBeGreaterThanOrEqual(0);
    expect(box.top).toBeLessThan(box.height);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await pwned(page)).toBeUndefined();
    expect(await auditPage(page, 'document-view')).toEqual([]);
    await page.getByRole('button', { name: 'Dark theme' }).click();
    expect(await auditPage(page, 'document-view-dark')).toEqual([]);
    await page.getByRole('button', { name: 'Light theme' }).click();

    // Searching the document shows its passages as text.
    await page.getByLabel('Words to look for in this document').fill('red binder');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /passages? found/ }).waitFor();
    expect(await page.locator('.document-search .passage-text').first().textContent()).toContain('red binder');
  });

  it('deletes the document, which then is gone from the list', async () => {
    await page.getByRole('link', { name: '← All documents' }).click();
    await page.waitForURL((url) => url.pathname === '/documents');
    const row = page.locator('table.documents-table tbody tr').filter({ has: page.locator('th', { hasText: HOSTILE_NAME }) });
    await row.waitFor();
    await page.getByRole('button', { name: `Delete ${HOSTILE_NAME}` }).click(); // the confirm is accepted (newPage)
    await expect.poll(() => row.count()).toBe(0);
    // Its upload says so, and no longer links to it.
    const upload = page.locator('li.upload').filter({ has: page.locator('.upload-name', { hasText: HOSTILE_NAME }) });
    await upload.getByRole('status').filter({ hasText: /^Deleted$/ }).waitFor();
    expect(await upload.getByRole('link').count()).toBe(0);
    await page.locator('table.documents-table tbody tr').filter({ has: page.locator('th', { hasText: OTHER_NAME }) }).waitFor();
    // And from the knowledge base.
    await page.locator('li.kb-card').getByText('No documents in it yet.').waitFor();
    expect(await auditPage(page, 'documents-after-delete')).toEqual([]);

    // In German, every string of the page translated.
    await page.getByLabel('Language').selectOption('de');
    await page.getByRole('heading', { level: 1, name: 'Dokumente' }).waitFor();
    await page.getByRole('heading', { name: 'Wissensdatenbanken' }).waitFor();
    expect(await page.locator('table.documents-table tbody td.document-status').first().textContent()).toBe('Bereit');
    expect(await auditPage(page, 'documents-de')).toEqual([]);
    await page.getByLabel('Sprache').selectOption('en');
    await page.getByRole('heading', { level: 1, name: 'Documents' }).waitFor();

    await page.goto(`/documents/${documentId}`);
    await page.getByRole('heading', { level: 1, name: 'This document was not found (or was deleted)' }).waitFor();
    expect(problems).toEqual([]);
  });
});
