import { extractImages, getDocumentProxy, getResolvedPDFJS, renderPageAsImage } from 'unpdf';
import { encodePnm } from '../ocr.ts';
import { ExtractionFailedError, type ExtractedPage } from '../types.ts';
import type { ExtractorContext, ExtractorResult } from './context.ts';

/**
 * PDF text per page with unpdf (PDF.js). Lines set clearly larger than the document's body text
 * become `#` headings. A page without a text layer is read by OCR: first from the images it embeds
 * (a scanned page is one image, read at its own resolution); when those give no text — or there are
 * none, as on a page whose text was converted to outlines — the page is rendered (PDF.js onto
 * @napi-rs/canvas) and the picture read instead.
 */

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;
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
  let pdf: PdfDocument;
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

/** 200 dpi: what OCR engines are tuned for (tesseract reads best at cap heights of 20–30 px). */
export const RENDER_DPI = 200;
/** Never more pixels per rendered page than this (an A4 page at 200 dpi is 3.9 M), whatever the page size claims. */
export const MAX_RENDER_PIXELS = 16_000_000;

/**
 * The scale at which a page of `width` × `height` points is rendered: RENDER_DPI, reduced so the
 * RGBA canvas stays inside both MAX_RENDER_PIXELS and the budget for uncompressed content (the
 * canvas lives outside the V8 heap that maxMemoryMb limits, so this budget is what bounds it).
 */
export function renderScale(width: number, height: number, maxUncompressedBytes: number): number {
  const area = Math.max(1, width) * Math.max(1, height);
  const pixels = Math.min(MAX_RENDER_PIXELS, Math.floor(maxUncompressedBytes / 4));
  return Math.min(RENDER_DPI / 72, Math.sqrt(pixels / area));
}

async function ocrPage(pdf: PdfDocument, n: number, context: ExtractorContext): Promise<string> {
  const fromImages = await ocrImages(pdf, n, context);
  return fromImages || ocrRendered(pdf, n, context);
}

/** Whether the page paints anything at all (paths, glyphs, images, shadings): a blank page is not rendered. */
async function paintsAnything(pdf: PdfDocument, n: number): Promise<boolean> {
  const { OPS } = await getResolvedPDFJS();
  const painting = new Set<number>([
    OPS.constructPath, OPS.fill, OPS.eoFill, OPS.stroke, OPS.fillStroke, OPS.eoFillStroke, OPS.closeStroke,
    OPS.closeFillStroke, OPS.closeEOFillStroke, OPS.showText, OPS.showSpacedText, OPS.nextLineShowText,
    OPS.nextLineSetSpacingShowText, OPS.paintImageXObject, OPS.paintInlineImageXObject,
    OPS.paintImageMaskXObject, OPS.paintSolidColorImageMask, OPS.shadingFill, OPS.paintFormXObjectBegin,
  ].filter((op): op is number => typeof op === 'number'));
  const page = await pdf.getPage(n);
  return (await page.getOperatorList()).fnArray.some((op) => painting.has(op));
}

async function ocrRendered(pdf: PdfDocument, n: number, context: ExtractorContext): Promise<string> {
  let png: ArrayBuffer;
  try {
    if (!(await paintsAnything(pdf, n))) return '';
    const { width, height } = (await pdf.getPage(n)).getViewport({ scale: 1 });
    const scale = renderScale(width, height, context.limits.maxUncompressedBytes);
    png = await renderPageAsImage(pdf, n, { canvasImport: () => import('@napi-rs/canvas'), scale });
  } catch {
    // A page PDF.js cannot draw has no text to offer; the other pages still count.
    return '';
  }
  const engine = await context.ocr();
  return (await engine.recognize(new Uint8Array(png))).trim();
}

async function ocrImages(pdf: PdfDocument, n: number, context: ExtractorContext): Promise<string> {
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
