import { extractImages, getDocumentProxy } from 'unpdf';
import { encodePnm } from '../ocr.ts';
import { ExtractionFailedError, type ExtractedPage } from '../types.ts';
import type { ExtractorContext, ExtractorResult } from './context.ts';

/**
 * PDF text per page with unpdf (PDF.js). Lines set clearly larger than the document's body text
 * become `#` headings. A page without a text layer is read by OCR from the images it embeds (a
 * scanned page is one image); rendering vector-only pages would need a native canvas, which is not
 * installed, so such pages stay without text.
 */

interface Line { text: string; size: number }
interface TextItem { str?: string; hasEOL?: boolean; transform?: number[] }

function linesOf(items: TextItem[]): Line[] {
  const lines: Line[] = [];
  let text = '';
  let size = 0;
  for (const item of items) {
    if (typeof item.str !== 'string') continue;
    text += item.str;
    const [, , c = 0, d = 0] = item.transform ?? [];
    if (item.str.trim()) size = Math.max(size, Math.hypot(c, d));
    if (item.hasEOL) { lines.push({ text, size }); text = ''; size = 0; }
  }
  if (text) lines.push({ text, size });
  return lines;
}

/** The most common font size, weighted by characters: the body text. */
function bodySize(pages: Line[][]): number {
  const weights = new Map<number, number>();
  for (const line of pages.flat()) {
    const size = Math.round(line.size * 2) / 2;
    weights.set(size, (weights.get(size) ?? 0) + line.text.trim().length);
  }
  let best = 0;
  let bestWeight = -1;
  for (const [size, weight] of [...weights].sort((a, b) => a[0] - b[0])) if (weight > bestWeight) { best = size; bestWeight = weight; }
  return best;
}

function headingSizes(pages: Line[][], body: number): number[] {
  const sizes = new Set<number>();
  for (const line of pages.flat()) if (isHeading(line, body)) sizes.add(Math.round(line.size * 2) / 2);
  return [...sizes].sort((a, b) => b - a);
}

function isHeading(line: Line, body: number): boolean {
  const text = line.text.trim();
  return body > 0 && line.size >= body * 1.25 && text.length > 0 && text.length <= 120;
}

function pageText(lines: Line[], body: number, sizes: number[]): string {
  return lines.map((line) => {
    if (!isHeading(line, body)) return line.text;
    const level = Math.min(3, sizes.indexOf(Math.round(line.size * 2) / 2) + 1);
    return `\n${'#'.repeat(level)} ${line.text.trim()}\n`;
  }).join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

function failure(error: unknown): ExtractionFailedError {
  const name = (error as { name?: string }).name;
  if (name === 'PasswordException') return new ExtractionFailedError('malformed', 'The PDF is encrypted with a password.');
  return new ExtractionFailedError('malformed', 'The PDF could not be read (it is damaged or not a valid PDF).');
}

export async function extractPdf(bytes: Uint8Array, context: ExtractorContext): Promise<ExtractorResult> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // A copy: PDF.js detaches the buffer it is given.
    pdf = await getDocumentProxy(new Uint8Array(bytes), {
      verbosity: 0,
      stopAtErrors: false,
      // PDF.js skips decoding images above this many pixels: an image bomb stays compressed.
      maxImageSize: Math.max(1, Math.floor(context.limits.maxUncompressedBytes / 4)),
    });
  } catch (error) {
    throw failure(error);
  }
  try {
    const total = pdf.numPages;
    if (total > context.limits.maxPages) {
      throw new ExtractionFailedError('too-many-pages', `The PDF has ${total} pages; the limit is ${context.limits.maxPages}.`);
    }
    const pageLines: Line[][] = [];
    for (let n = 1; n <= total; n++) {
      try {
        const page = await pdf.getPage(n);
        pageLines.push(linesOf((await page.getTextContent()).items as TextItem[]));
        page.cleanup();
      } catch {
        pageLines.push([]);
      }
    }
    const body = bodySize(pageLines);
    const sizes = headingSizes(pageLines, body);
    const pages: ExtractedPage[] = [];
    for (let n = 1; n <= total; n++) {
      let text = pageText(pageLines[n - 1]!, body, sizes);
      let ocr = false;
      if (!text) {
        text = await ocrPage(pdf, n, context);
        ocr = text.length > 0;
      }
      pages.push({ page: n, text, ocr });
      context.onProgress({ pagesDone: n, pagesTotal: total });
    }
    return { pages, paginated: true };
  } catch (error) {
    if (error instanceof ExtractionFailedError) throw error;
    throw failure(error);
  } finally {
    await pdf.loadingTask.destroy();
  }
}

async function ocrPage(pdf: Awaited<ReturnType<typeof getDocumentProxy>>, n: number, context: ExtractorContext): Promise<string> {
  let images: Awaited<ReturnType<typeof extractImages>>;
  try {
    images = await extractImages(pdf, n);
  } catch {
    return '';
  }
  const texts: string[] = [];
  for (const image of images) {
    // Tiny images are logos and rules, not scanned text.
    if (image.width < 32 || image.height < 16) continue;
    if (image.width * image.height * 4 > context.limits.maxUncompressedBytes) {
      throw new ExtractionFailedError('too-large-uncompressed', `An image on page ${n} is larger than the limit for uncompressed content.`);
    }
    const engine = await context.ocr();
    texts.push((await engine.recognize(encodePnm(image))).trim());
  }
  return texts.filter(Boolean).join('\n\n');
}
